#include "roster/api/store_metrics.hpp"

#include "roster/eventstore/store.hpp"
#include "roster/projections/read_model.hpp"

namespace roster::api {

void add_store_metrics(metrics_registry& registry, const eventstore::store& store,
                       const projections::read_model& reads) {
    registry.add_collector([&store, &reads](exposition& out) {
        // The read model's position is read first: it never passes the head, so the lag below is
        // never negative (at worst it includes a commit that landed during the scrape).
        const auto projected = reads.position();
        const auto s = store.stats();
        out.family("roster_store_commits_total", "Commit groups written and synced (one WriteBatch + fsync each).",
                   "counter");
        out.sample("roster_store_commits_total", {}, static_cast<double>(s.commits));
        out.family("roster_store_appended_batches_total", "Append batches committed (one per accepted command).",
                   "counter");
        out.sample("roster_store_appended_batches_total", {}, static_cast<double>(s.batches));
        out.family("roster_store_appended_events_total", "Events appended to the log.", "counter");
        out.sample("roster_store_appended_events_total", {}, static_cast<double>(s.events));
        out.family("roster_store_write_failures_total",
                   "Commit groups whose write failed (every command of the group was answered 503).", "counter");
        out.sample("roster_store_write_failures_total", {}, static_cast<double>(s.write_failures));
        out.family("roster_store_group_commit_batches", "Append batches per commit group (group-commit batch size).",
                   "histogram");
        out.histogram("roster_store_group_commit_batches", {}, s.group_batches.upper_bounds, s.group_batches.counts,
                      s.group_batches.sum);
        out.family("roster_store_write_duration_seconds",
                   "Duration of one synced commit write (WAL append + fsync), failed ones included.", "histogram");
        out.histogram("roster_store_write_duration_seconds", {}, s.write_seconds.upper_bounds, s.write_seconds.counts,
                      s.write_seconds.sum);
        out.family("roster_store_size_bytes", "Bytes of every file in the event store directory (SSTs, WAL, manifest).",
                   "gauge");
        out.sample("roster_store_size_bytes", {}, static_cast<double>(s.size_bytes));
        out.family("roster_store_head_position", "Position of the last committed event.", "gauge");
        out.sample("roster_store_head_position", {}, static_cast<double>(s.head_position.value));
        out.family("roster_projection_position", "Last log position folded into the read model.", "gauge");
        out.sample("roster_projection_position", {}, static_cast<double>(projected.value));
        out.family("roster_projection_lag_events",
                   "Committed events not yet visible to queries (head - projection position).", "gauge");
        out.sample("roster_projection_lag_events", {},
                   static_cast<double>(s.head_position > projected ? s.head_position.value - projected.value : 0));
    });
}

}  // namespace roster::api
