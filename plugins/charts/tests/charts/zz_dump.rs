#[test]
fn dump() {
    let s = crate::bar_chart(serde_json::json!({})).unwrap();
    println!("{}", serde_json::to_string_pretty(&s.settings_schema()).unwrap());
    println!("{}", serde_json::to_string(&s.frame().unwrap()).unwrap());
    let mut l = crate::line_chart(serde_json::json!({"marker_field": "stall"})).unwrap();
    crate::feed(&mut l, [serde_json::json!({"timestamp": "2024-01-01 10:00:00", "value": 3, "stall": true}), serde_json::json!({"timestamp": "2024-01-01 10:00:01", "value": 4})]);
    println!("{}", serde_json::to_string_pretty(&l.settings_schema()).unwrap());
    println!("{}", serde_json::to_string(&l.frame().unwrap()).unwrap());
    println!("{}", serde_json::to_string(&l.save_state().unwrap()).unwrap());
}
