// The store and projection gauges of /metrics.
#pragma once

#include "roster/api/metrics.hpp"

namespace roster::eventstore {
class store;
}
namespace roster::projections {
class read_model;
}

namespace roster::api {

// roster_store_* (appends, commit groups, write latency, size, head) and roster_projection_*
// (position, lag) read at scrape time. `store` and `reads` must outlive the registry's use.
void add_store_metrics(metrics_registry& registry, const eventstore::store& store,
                       const projections::read_model& reads);

}  // namespace roster::api
