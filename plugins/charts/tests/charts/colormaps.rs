//! Bars coloured by a colormap: every plotters colormap by name, a fixed
//! colour domain, and the colorbar beside the plot in SVG and PNG.

use buzz_sdk::ImageFormat;
use plotkit::colormap::Colormap;
use plotters::style::colors::colormaps::{BlackWhite, Bone, Copper, MandelbrotHSL, ViridisRGB, VulcanoHSL};
use plotters::style::{Color, RGBColor};
use serde_json::{Value, json};

use crate::png::decode;
use crate::{bar_chart, feed, keep, svg as render_svg, svg_texts};

fn hex(RGBColor(r, g, b): RGBColor) -> String {
    format!("#{r:02X}{g:02X}{b:02X}")
}

/// The fill of every filled rectangle but the background and the
/// tooltips: the bars, in order.
fn bar_fills(svg: &str) -> Vec<&str> {
    svg.lines()
        .filter(|l| l.starts_with("<rect") && !l.contains("fill-opacity=\"0\""))
        .filter_map(|l| l.split("fill=\"").nth(1)?.split('"').next())
        .filter(|f| !f.eq_ignore_ascii_case("#FFFFFF"))
        .collect()
}

/// The colorbar's gradient, top to bottom: its bands (the only polygons),
/// as (left x, colour).
fn gradient(svg: &str) -> Vec<(i64, RGBColor)> {
    let mut bands: Vec<(i64, i64, RGBColor)> = svg
        .lines()
        .filter(|l| l.starts_with("<polygon"))
        .filter_map(|l| {
            let fill = l.split("fill=\"#").nth(1)?.get(..6)?;
            let channel = |i: usize| u8::from_str_radix(&fill[i..i + 2], 16).ok();
            let mut corner = l.split("points=\"").nth(1)?.split(' ').next()?.split(',');
            let (x, y) = (corner.next()?.parse().ok()?, corner.next()?.parse().ok()?);
            Some((y, x, RGBColor(channel(0)?, channel(2)?, channel(4)?)))
        })
        .collect();
    bands.sort_by_key(|band| band.0);
    bands.into_iter().map(|(_, x, colour)| (x, colour)).collect()
}

/// The colorbar runs from the map's top colour down to its bottom one.
fn assert_gradient_of(svg: &str, map: Colormap) {
    let rows = gradient(svg);
    assert!(rows.len() >= 32, "{}: {} gradient bands", map.name(), rows.len());
    // The top band is the map near 1, the bottom one near 0.
    let near = |colour: RGBColor, ends: std::ops::RangeInclusive<u32>| {
        ends.map(|k| map.at(f64::from(k) / 1000.0))
            .any(|c| c.0.abs_diff(colour.0) <= 3 && c.1.abs_diff(colour.1) <= 3 && c.2.abs_diff(colour.2) <= 3)
    };
    let (top, bottom) = (rows[0].1, rows[rows.len() - 1].1);
    assert!(near(top, 950..=1000), "{}: top {top:?}", map.name());
    assert!(near(bottom, 0..=50), "{}: bottom {bottom:?}", map.name());
}

fn sentiment_chart(settings: Value) -> buzz_sdk::testing::TestStage {
    let mut chart = bar_chart(settings).unwrap();
    feed(&mut chart, [("calm", 0.42), ("keen", 0.55)].map(|(c, v)| json!({"category": c, "value": v})));
    chart
}

/// With `color_domain = [0, 1]`, 0.42 and 0.55 are neighbouring shades,
/// not the two ends of the map, and a colorbar reads 0.0 to 1.0.
#[test]
fn plotkit_color_domain_fixes_the_shades_and_the_colorbar_shows_its_ticks() {
    let chart = sentiment_chart(json!({"colormap": "viridis", "color_domain": [0.0, 1.0], "y_min": 0.0}));
    let svg = render_svg(&chart);
    keep("bar-domain.svg", svg.as_bytes());
    let viridis = Colormap::VIRIDIS;
    assert_eq!(bar_fills(&svg), [hex(viridis.at(0.42)), hex(viridis.at(0.55))]);

    let texts = svg_texts(&svg);
    for tick in ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"] {
        assert!(texts.contains(&tick), "colorbar tick {tick} missing from {texts:?}");
    }
    // The gradient stands right of every bar, outside the data area.
    assert_gradient_of(&svg, viridis);
    let bar_right = svg
        .lines()
        .filter(|l| l.starts_with("<rect") && l.contains("fill-opacity=\"0\""))
        .map(|l| {
            let attr = |name: &str| -> i64 {
                l.split(&format!(" {name}=\"")).nth(1).unwrap().split('"').next().unwrap().parse().unwrap()
            };
            attr("x") + attr("width")
        })
        .max()
        .unwrap();
    assert!(gradient(&svg).iter().all(|&(x, _)| x > bar_right), "colorbar overlaps the bars");

    // Without a domain the gradient stretches between the bars again.
    let svg = render_svg(&sentiment_chart(json!({"colormap": "viridis"})));
    assert_eq!(bar_fills(&svg), [hex(viridis.at(0.0)), hex(viridis.at(1.0))]);
}

#[test]
fn plotkit_the_colorbar_is_drawn_in_png_and_only_with_a_colormap() {
    let chart = sentiment_chart(json!({"colormap": "viridis", "color_domain": [0.0, 1.0]}));
    let bytes = chart.render(ImageFormat::Png).unwrap();
    keep("bar-domain.png", &bytes);
    let (width, _, rgb) = decode(&bytes);
    // Near-yellow pixels (the top of the viridis bar; no bar is that
    // high on the map) in the right-hand strip of the image.
    let RGBColor(r, g, b) = Colormap::VIRIDIS.at(1.0);
    let yellow = rgb
        .chunks(3)
        .enumerate()
        .filter(|(i, _)| (*i as u32 % width) > width * 85 / 100)
        .filter(|(_, p)| p[0].abs_diff(r) < 8 && p[1].abs_diff(g) < 8 && p[2].abs_diff(b) < 8)
        .count();
    assert!(yellow >= 10, "{yellow} colorbar pixels");

    let plain = render_svg(&sentiment_chart(json!({"color_domain": [0.0, 1.0]})));
    assert!(gradient(&plain).is_empty(), "a colorbar without a colormap");
}

/// Each documented name with plotters' own map, to check the bars against.
fn plotters_map(name: &str) -> RGBColor {
    let t = 0.42;
    let color = match name {
        "viridis" => ViridisRGB::get_color(t).to_backend_color(),
        "blackwhite" => BlackWhite::get_color(t).to_backend_color(),
        "bone" => Bone::get_color(t).to_backend_color(),
        "copper" => Copper::get_color(t).to_backend_color(),
        "mandelbrot" => MandelbrotHSL::get_color(t).to_backend_color(),
        "vulcano" => VulcanoHSL::get_color(t).to_backend_color(),
        other => panic!("no plotters colormap for {other:?}"),
    };
    let (r, g, b) = color.rgb;
    RGBColor(r, g, b)
}

/// Every colormap plotters offers is accepted by its documented name and
/// colours the bars from plotters' gradient, with a colorbar, in SVG and PNG.
#[test]
fn plotkit_every_colormap_renders() {
    let names: Vec<&str> = Colormap::names().collect();
    assert_eq!(names, ["viridis", "blackwhite", "bone", "copper", "mandelbrot", "vulcano"]);
    for name in names {
        let map = Colormap::by_name(name).unwrap();
        let chart = sentiment_chart(json!({"colormap": name, "color_domain": [0.0, 1.0]}));
        let svg = render_svg(&chart);
        keep(&format!("colormap-{name}.svg"), svg.as_bytes());
        let fills = bar_fills(&svg);
        assert_eq!(fills[0], hex(plotters_map(name)), "{name}");
        assert_eq!(fills[1], hex(map.at(0.55)), "{name}");
        assert_gradient_of(&svg, map);
        let png = chart.render(ImageFormat::Png).unwrap();
        keep(&format!("colormap-{name}.png"), &png);
        assert_eq!(decode(&png).0, 800, "{name}");
    }
}

#[test]
fn plotkit_unknown_colormaps_and_empty_domains_are_refused() {
    let err = bar_chart(json!({"colormap": "copperr"})).err().unwrap();
    assert_eq!(err.setting.as_deref(), Some("colormap"));
    assert!(err.message.contains("did you mean \"copper\"?"), "{err}");
    assert!(
        err.message.contains("\"viridis\", \"blackwhite\", \"bone\", \"copper\", \"mandelbrot\", \"vulcano\""),
        "{err}"
    );
    for domain in [json!([1.0, 0.0]), json!([0.5, 0.5])] {
        let err = bar_chart(json!({"colormap": "bone", "color_domain": domain})).err().unwrap();
        assert_eq!(err.setting.as_deref(), Some("color_domain"), "{domain}");
    }
}
