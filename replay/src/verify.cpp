#include "roster/replay/verify.hpp"

#include <ostream>

#include <boost/json.hpp>

#include "roster/replay/rfc3339.hpp"

namespace roster::replay {

std::string verify_report_json(const eventstore::verify_report& r) {
    boost::json::object o;
    o["ok"] = r.ok;
    o["checked"] = r.checked;
    if (r.first_bad_position)
        o["first_bad_position"] = r.first_bad_position->value;
    else
        o["first_bad_position"] = nullptr;
    if (!r.ok) o["message"] = r.message;
    return boost::json::serialize(o);
}

std::string head_json(const eventstore::head_info& h) {
    boost::json::object o;
    o["position"] = h.position.value;
    o["hash"] = eventstore::to_hex(h.hash);
    if (h.position == eventstore::log_position{})
        o["recorded_at"] = nullptr;
    else
        o["recorded_at"] = format_rfc3339(h.recorded_at);
    return boost::json::serialize(o);
}

std::filesystem::path resolve_store_dir(const std::filesystem::path& data_dir) {
    std::error_code ec;
    if (std::filesystem::exists(data_dir / "CURRENT", ec)) return data_dir;
    return eventstore::store_dir(data_dir);
}

namespace {

eventstore::result<std::unique_ptr<eventstore::store>> open_read_only(const std::filesystem::path& data_dir) {
    eventstore::store_options o;
    o.read_only = true;
    return eventstore::store::open(resolve_store_dir(data_dir), o);
}

}  // namespace

int run_verify(const std::filesystem::path& data_dir, std::uint64_t from, std::uint64_t to, std::ostream& out,
               std::ostream& err) {
    auto s = open_read_only(data_dir);
    if (!s) {
        err << "rosterctl verify: cannot open the store in " << data_dir << ": " << s.error().message << '\n';
        return 2;
    }
    const auto report = (*s)->verify(eventstore::log_position{from}, eventstore::log_position{to});
    out << verify_report_json(report) << '\n';
    return report.ok ? 0 : 1;
}

int run_head(const std::filesystem::path& data_dir, std::ostream& out, std::ostream& err) {
    auto s = open_read_only(data_dir);
    if (!s) {
        err << "rosterctl head: cannot open the store in " << data_dir << ": " << s.error().message << '\n';
        return 2;
    }
    out << head_json((*s)->head()) << '\n';
    return 0;
}

}  // namespace roster::replay
