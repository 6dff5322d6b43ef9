//! The sync push decoder and the server's pure checks: whatever bytes arrive, decoding either
//! fails cleanly or yields a request whose sequencing plan and per-mutation checks answer
//! without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use protocol::sync::{check_mutation, plan_push, PushRequest};

fuzz_target!(|data: &[u8]| {
    if let Ok(req) = serde_json::from_slice::<PushRequest>(data) {
        for last_seq in [0, 1, u64::MAX] {
            let _ = plan_push(last_seq, &req.mutations);
        }
        for m in &req.mutations {
            let _ = check_mutation(m);
        }
        let _ = serde_json::to_vec(&req);
    }
});
