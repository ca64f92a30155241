//! The seismic belts the catalogue draws events from. Each follows a
//! rough trace of its plate boundary (a trench, a fault system, a ridge),
//! is weighted by its share of the world's M2.5+ activity, and has its own
//! depth profile. At subduction zones the deeper events lie further
//! down-dip from the trench, along the sinking slab (the Wadati–Benioff
//! zone); ridges and continental collisions have only shallow events.

use plotkit::random::{Pcg32, Random};

const KM_PER_DEGREE: f64 = 111.2;
/// Where crustal events end and slab events begin, km.
const SLAB_TOP_KM: f64 = 40.0;

#[derive(Debug)]
pub struct Region {
    pub name: &'static str,
    /// The boundary's trace, (latitude, longitude) in degrees.
    pub trace: &'static [(f64, f64)],
    /// Relative share of events.
    pub weight: f64,
    /// Scatter of epicentres across the trace, degrees.
    pub spread: f64,
    /// Mean depth of crustal events, km.
    pub crust_km: f64,
    /// Share of events inside a subducting slab (0 where there is none).
    pub slab_share: f64,
    /// Deepest slab event, km.
    pub slab_km: f64,
    /// Direction the slab sinks towards, (north, east); its length is
    /// km across per km down (1 for a 45° dip).
    pub down_dip: (f64, f64),
}

pub const REGIONS: &[Region] = &[
    Region {
        name: "Japan-Kuril-Kamchatka",
        trace: &[(34.0, 142.0), (40.0, 144.0), (44.0, 149.0), (50.0, 157.0), (55.0, 162.5)],
        weight: 14.0,
        spread: 0.8,
        crust_km: 14.0,
        slab_share: 0.3,
        slab_km: 600.0,
        down_dip: (0.35, -0.95),
    },
    Region {
        name: "Indonesia",
        trace: &[(5.0, 94.0), (-2.0, 99.0), (-7.5, 106.0), (-10.5, 115.0), (-9.5, 125.0)],
        weight: 14.0,
        spread: 0.9,
        crust_km: 15.0,
        slab_share: 0.3,
        slab_km: 650.0,
        down_dip: (0.95, 0.3),
    },
    Region {
        name: "Tonga-Fiji",
        trace: &[(-15.0, -173.0), (-20.0, -173.5), (-25.0, -175.0), (-30.0, -176.5)],
        weight: 12.0,
        spread: 0.6,
        crust_km: 12.0,
        slab_share: 0.45,
        slab_km: 690.0,
        // Steep: about 55°.
        down_dip: (0.0, -0.7),
    },
    Region {
        name: "Chile-Peru",
        trace: &[(-5.0, -81.0), (-15.0, -76.0), (-22.0, -71.0), (-32.0, -72.0), (-40.0, -74.0)],
        weight: 10.0,
        spread: 0.7,
        crust_km: 15.0,
        slab_share: 0.3,
        slab_km: 650.0,
        // Shallow dip: the slab reaches far inland.
        down_dip: (0.0, 1.3),
    },
    Region {
        name: "Alaska-Aleutians",
        trace: &[(51.0, -178.0), (51.5, -170.0), (54.0, -160.0), (57.0, -153.0), (60.0, -147.0)],
        weight: 9.0,
        spread: 0.7,
        crust_km: 15.0,
        slab_share: 0.2,
        slab_km: 250.0,
        down_dip: (1.0, 0.0),
    },
    Region {
        name: "Philippines-Taiwan",
        trace: &[(6.0, 127.0), (12.0, 126.0), (18.0, 121.0), (24.0, 122.0)],
        weight: 8.0,
        spread: 0.8,
        crust_km: 15.0,
        slab_share: 0.25,
        slab_km: 600.0,
        down_dip: (0.0, -1.0),
    },
    Region {
        name: "Mexico-Central America",
        trace: &[(19.0, -106.0), (16.0, -99.0), (14.0, -93.0), (11.0, -87.0), (8.0, -83.0)],
        weight: 8.0,
        spread: 0.6,
        crust_km: 15.0,
        slab_share: 0.2,
        slab_km: 250.0,
        down_dip: (0.7, 0.7),
    },
    Region {
        name: "Mediterranean-Iran",
        trace: &[(37.0, 21.0), (36.0, 28.0), (38.0, 40.0), (35.0, 50.0), (28.0, 58.0)],
        weight: 7.0,
        spread: 1.5,
        crust_km: 12.0,
        slab_share: 0.05,
        slab_km: 200.0,
        down_dip: (1.0, 0.0),
    },
    Region {
        name: "California-Nevada",
        trace: &[(32.5, -115.5), (35.0, -118.5), (38.0, -122.3), (40.5, -124.0)],
        weight: 6.0,
        spread: 0.6,
        crust_km: 8.0,
        slab_share: 0.0,
        slab_km: 0.0,
        down_dip: (0.0, 0.0),
    },
    Region {
        name: "Himalaya-Tibet",
        trace: &[(34.0, 73.0), (30.0, 80.0), (28.0, 86.0), (27.5, 92.0), (29.0, 96.0)],
        weight: 5.0,
        spread: 1.2,
        crust_km: 15.0,
        slab_share: 0.0,
        slab_km: 0.0,
        down_dip: (0.0, 0.0),
    },
    Region {
        name: "Mid-Atlantic Ridge",
        trace: &[
            (64.0, -18.0),
            (52.0, -32.0),
            (35.0, -35.0),
            (15.0, -45.0),
            (0.0, -20.0),
            (-30.0, -13.0),
            (-50.0, -8.0),
        ],
        weight: 4.0,
        spread: 0.3,
        crust_km: 6.0,
        slab_share: 0.0,
        slab_km: 0.0,
        down_dip: (0.0, 0.0),
    },
];

/// An event's place: (latitude, longitude, depth in km).
pub type Hypocentre = (f64, f64, f64);

impl Region {
    /// A focal depth: mostly crustal (exponential about the crustal mean,
    /// capped at the slab top), else somewhere down the slab, more often
    /// at intermediate depth than near its deep end.
    pub fn depth(&self, rng: &mut Pcg32) -> f64 {
        if rng.unit() < self.slab_share {
            SLAB_TOP_KM + (self.slab_km - SLAB_TOP_KM) * rng.unit().powf(1.6)
        } else {
            rng.exponential(self.crust_km).clamp(0.5, SLAB_TOP_KM)
        }
    }

    /// An event near the trace, moved down-dip as deep as it is.
    pub fn hypocentre(&self, rng: &mut Pcg32) -> Hypocentre {
        let (lat, lon) = point_on(self.trace, rng.unit());
        let depth = self.depth(rng);
        let across = depth / KM_PER_DEGREE;
        let lat = lat + rng.normal(self.spread) + self.down_dip.0 * across;
        let lon = lon + rng.normal(self.spread) / lat.to_radians().cos().max(0.2) + self.down_dip.1 * across;
        (lat.clamp(-90.0, 90.0), wrap_longitude(lon), depth)
    }
}

/// Rough distance in degrees between two nearby points.
fn distance(a: (f64, f64), b: (f64, f64)) -> f64 {
    let mid_lat = ((a.0 + b.0) / 2.0).to_radians();
    ((a.0 - b.0).powi(2) + ((a.1 - b.1) * mid_lat.cos()).powi(2)).sqrt()
}

/// The point a fraction `t` of the way along a polyline.
fn point_on(trace: &[(f64, f64)], t: f64) -> (f64, f64) {
    let total: f64 = trace.windows(2).map(|w| distance(w[0], w[1])).sum();
    let mut left = t.clamp(0.0, 1.0) * total;
    for w in trace.windows(2) {
        let step = distance(w[0], w[1]);
        if left <= step && step > 0.0 {
            let f = left / step;
            return (w[0].0 + (w[1].0 - w[0].0) * f, w[0].1 + (w[1].1 - w[0].1) * f);
        }
        left -= step;
    }
    trace[trace.len() - 1]
}

fn wrap_longitude(lon: f64) -> f64 {
    (lon + 180.0).rem_euclid(360.0) - 180.0
}

/// The regions named (all when `names` is empty), or the first unknown name.
pub fn select(names: &[String]) -> Result<Vec<&'static Region>, String> {
    if names.is_empty() {
        return Ok(REGIONS.iter().collect());
    }
    names
        .iter()
        .map(|name| REGIONS.iter().find(|r| r.name.eq_ignore_ascii_case(name)).ok_or_else(|| name.clone()))
        .collect()
}

/// One of `regions`, chosen by weight.
pub fn pick<'a>(regions: &[&'a Region], rng: &mut Pcg32) -> &'a Region {
    let total: f64 = regions.iter().map(|r| r.weight).sum();
    let mut target = rng.unit() * total;
    for region in regions {
        if target < region.weight {
            return region;
        }
        target -= region.weight;
    }
    // Rounding can leave a sliver past the last weight.
    regions[regions.len() - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn region(name: &str) -> &'static Region {
        REGIONS.iter().find(|r| r.name == name).unwrap()
    }

    #[test]
    fn regions_are_well_formed() {
        for r in REGIONS {
            let length: f64 = r.trace.windows(2).map(|w| distance(w[0], w[1])).sum();
            assert!(r.trace.len() >= 2 && length > 5.0, "{}", r.name);
            assert!(r.trace.iter().all(|(lat, lon)| lat.abs() <= 90.0 && lon.abs() <= 180.0), "{}", r.name);
            assert!(r.weight > 0.0 && (0.0..1.0).contains(&r.slab_share), "{}", r.name);
            assert!(r.slab_share == 0.0 || r.slab_km > SLAB_TOP_KM, "{}", r.name);
        }
    }

    #[test]
    fn deep_events_lie_down_dip_of_the_trench() {
        let mut rng = Pcg32::new(Some(5));
        let chile = region("Chile-Peru");
        let events: Vec<Hypocentre> = (0..20_000).map(|_| chile.hypocentre(&mut rng)).collect();
        assert!(events.iter().all(|e| (0.5..=650.0).contains(&e.2)));
        let mean_lon = |keep: &dyn Fn(f64) -> bool| {
            let picked: Vec<f64> = events.iter().filter(|e| keep(e.2)).map(|e| e.1).collect();
            picked.iter().sum::<f64>() / picked.len() as f64
        };
        // The Nazca slab dips east, under South America.
        let (shallow, deep) = (mean_lon(&|d| d < 40.0), mean_lon(&|d| d > 300.0));
        assert!(deep - shallow > 3.0, "deep events {deep}°, shallow {shallow}°");
    }

    #[test]
    fn only_subduction_zones_have_deep_events() {
        let mut rng = Pcg32::new(Some(6));
        let tonga = region("Tonga-Fiji");
        let deep = (0..10_000).filter(|_| tonga.depth(&mut rng) > 300.0).count();
        assert!(deep > 1000, "Tonga has deep events: {deep}");
        let ridge = region("Mid-Atlantic Ridge");
        assert!((0..10_000).all(|_| ridge.depth(&mut rng) <= SLAB_TOP_KM), "a ridge has only shallow events");
    }

    #[test]
    fn points_follow_the_trace_and_longitudes_wrap() {
        let trace = [(0.0, 0.0), (0.0, 10.0), (10.0, 10.0)];
        assert_eq!(point_on(&trace, 0.0), (0.0, 0.0));
        assert_eq!(point_on(&trace, 0.25), (0.0, 5.0));
        assert_eq!(point_on(&trace, 0.75), (5.0, 10.0));
        assert_eq!(point_on(&trace, 1.0), (10.0, 10.0));
        assert_eq!(wrap_longitude(181.0), -179.0);
        assert_eq!(wrap_longitude(-181.0), 179.0);
    }

    #[test]
    fn picks_follow_the_weights_and_unknown_names_are_named() {
        let mut rng = Pcg32::new(Some(9));
        let all = select(&[]).unwrap();
        let japan = (0..20_000).filter(|_| pick(&all, &mut rng).name.starts_with("Japan")).count() as f64;
        let share = 14.0 / REGIONS.iter().map(|r| r.weight).sum::<f64>();
        assert!((japan / 20_000.0 - share).abs() < 0.01, "{japan}");
        assert_eq!(select(&["chile-peru".to_string()]).unwrap()[0].name, "Chile-Peru");
        assert_eq!(select(&["Atlantis".to_string()]).unwrap_err(), "Atlantis");
    }
}
