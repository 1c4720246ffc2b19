#pragma once
// Active health probes: for each route with `probe.interval`, every target gets a small real
// request ("ping", max 1 output token) on that interval, from worker 0. Outcomes feed the
// route's health tracker exactly like real traffic, so an ejected target can come back (or a
// silent one be found out) without waiting for clients. Probes cost tokens, so each one is a
// ledger record with tenant "switchyard-probe".

#include "server/worker.h"

namespace sy::server {

// Spawns one probe loop per probed target on `worker`'s io_context. Loops end at drain.
void start_probes(Worker& worker);

}  // namespace sy::server
