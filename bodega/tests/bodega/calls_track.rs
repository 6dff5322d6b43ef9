//! Calls for service as the optional calls track: the department's weights read with every bad
//! row named, a call type weighed at its priority or at any, and a call that became a located
//! incident left to the incident, so it counts once.

use bodega::call_weights::{read_call_weights, CallWeights};
use bodega::queries::Filter;
use bodega::testing::fresh_store;

use super::{ingest, opts};

#[test]
fn a_call_weight_file_is_refused_with_its_line_and_field() {
    let err = |csv: &str| read_call_weights(csv.as_bytes()).expect_err("refused").to_string();
    assert!(err("call_type,weight\nnoise,1\n").contains("needs call_type, priority and weight"));
    assert!(err("call_type,priority,weight\n").contains("weighs no call type"));
    let e = err("call_type,priority,weight\nnoise,,1\nnoise,1,lots\n");
    assert!(e.contains("line 3, weight: 'lots'"), "{e}");
    assert!(err("call_type,priority,weight\nnoise,,-1\n").contains("line 2, weight"));
    assert!(err("call_type,priority,weight\n ,,1\n").contains("line 2, call_type: empty"));
    let e = err("call_type,priority,weight\nNoise,2,1\nnoise ,2,3\n");
    assert!(e.contains("line 3: call type 'noise' priority '2' is weighed already on line 2"), "{e}");
    let rows =
        read_call_weights(b"call_type,priority,weight,note\nNOISE,,2,bylaw\nnoise,1,5,\nalarm,,0,\n").expect("reads");
    let w = CallWeights::new(&rows);
    assert_eq!(w.weigh("Noise", "1"), Some(5.0), "its priority's row");
    assert_eq!(w.weigh("noise", "3"), Some(2.0), "any other priority");
    assert_eq!(w.weigh("alarm", "1"), Some(0.0));
    assert_eq!(w.weigh("fight", ""), None, "a type the table does not know");
}

#[tokio::test]
async fn a_call_that_became_a_located_incident_counts_once() {
    let store = fresh_store().await;
    let b = &store.bodega;
    let incidents = "id,occurred_at,offense,category,lat,lon\n\
                     R1,2020-06-01T22:10:00,Mischief,,49.2800,-123.1200\n\
                     R2,2020-06-01T22:20:00,Mischief,,,\n";
    ingest(b, incidents, &opts("rms")).await.expect("incidents");
    // C1 became R1 (located): the incident carries it. C2 became R2, whose location is withheld:
    // the call still places it. C3 names a report not (yet) loaded. C4 became no incident.
    // C5 is at (0,0), flagged: never ranked.
    let calls = "call_id,call_type,priority,received_at,lat,lon,incident_id\n\
                 C1,DISTURBANCE,2,2020-06-01T22:00:00,49.2800,-123.1200,R1\n\
                 C2,DISTURBANCE,2,2020-06-01T22:15:00,49.2810,-123.1210,R2\n\
                 C3,NOISE,4,2020-06-01T23:00:00,49.2820,-123.1220,R9\n\
                 C4,NOISE,4,2020-06-01T23:30:00,49.2830,-123.1230,\n\
                 C5,NOISE,4,2020-06-01T23:40:00,0,0,\n";
    let s = bodega::calls::ingest_calls_csv(b, calls.as_bytes(), &opts("cad")).await.expect("calls");
    assert_eq!((s.loaded, s.rejected), (5, 0));
    let ranked = b.calls_for_ranking(&Filter::default()).await.expect("calls");
    let mut types: Vec<(f64, String)> = ranked.iter().map(|c| (c.1, c.3.clone())).collect();
    types.sort_by(|a, b| a.0.total_cmp(&b.0));
    assert_eq!(
        types,
        vec![(49.281, "DISTURBANCE".into()), (49.282, "NOISE".into()), (49.283, "NOISE".into())],
        "C1 is R1's; C5 is flagged"
    );
    // R9 arrives: C3 now counts as it.
    let later = "id,occurred_at,offense,category,lat,lon\nR9,2020-06-01T22:55:00,Mischief,,49.2820,-123.1220\n";
    ingest(b, later, &opts("rms")).await.expect("R9");
    assert_eq!(b.calls_for_ranking(&Filter::default()).await.expect("calls").len(), 2);
    // The time window is the calls' received time, half open.
    let to = Filter { to: Some(1_591_077_600), ..Filter::default() }; // 23:00 PDT
    assert_eq!(b.calls_for_ranking(&to).await.expect("calls").len(), 1, "C2 only: C4 came at 23:30");
    // The table, replaced as a whole; the unweighed call types listed, most calls first.
    assert!(b.call_weights().await.expect("none").is_empty());
    assert_eq!(
        b.unweighed_call_types().await.expect("unweighed"),
        vec![("NOISE".into(), 3), ("DISTURBANCE".into(), 2)]
    );
    let rows = read_call_weights(b"call_type,priority,weight\nnoise,,2\n").expect("reads");
    assert_eq!(b.replace_call_weights(&rows).await.expect("stored"), 0);
    let rows = read_call_weights(b"call_type,priority,weight,note\ndisturbance,2,10,x\nnoise,4,1,\n").expect("reads");
    assert_eq!(b.replace_call_weights(&rows).await.expect("replaced"), 1);
    assert_eq!(b.call_weights().await.expect("rows"), rows);
    assert!(b.unweighed_call_types().await.expect("unweighed").is_empty());
}
