#pragma once
// The composition root's factories: the only place that knows every concrete class.

#include <boost/asio/io_context.hpp>
#include <memory>
#include <vector>

#include "config/schema.h"
#include "server/runtime.h"
#include "upstream/transport.h"

namespace sy::app {

// Shared, read-only per-process state built once at start-up (e.g. TLS contexts).
struct Shared;
std::shared_ptr<Shared> make_shared_state(const config::Config& config);

// One transport per provider for one worker (nullptr for a disabled provider).
std::vector<upstream::TransportPtr> make_transports(const config::Config& config,
                                                    const Shared& shared,
                                                    boost::asio::io_context& ioc,
                                                    unsigned worker_index);

// The process-wide runtime state: per-route health trackers and retry budgets, drills.
// Opens the ledger (start-up only: throws on failure) and starts its writer thread.
std::shared_ptr<server::Runtime> make_runtime(std::shared_ptr<const config::Config> config);

}  // namespace sy::app
