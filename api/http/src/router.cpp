#include "roster/api/router.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <stdexcept>

#include <boost/url/decode_view.hpp>
#include <boost/url/params_view.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/parse_query.hpp>
#include <boost/url/url_view.hpp>

namespace roster::api {

namespace {

bool is_param_segment(std::string_view seg) { return seg.size() > 2 && seg.front() == '{' && seg.back() == '}'; }

std::vector<std::string> split_template(std::string_view t) {
    if (t.empty() || t.front() != '/')
        throw std::invalid_argument("route template must start with '/': " + std::string(t));
    std::vector<std::string> out;
    if (t == "/") return out;
    std::size_t pos = 1;
    while (true) {
        auto next = t.find('/', pos);
        auto seg = t.substr(pos, next == std::string_view::npos ? std::string_view::npos : next - pos);
        if (seg.empty()) throw std::invalid_argument("empty segment in route template: " + std::string(t));
        if ((seg.find('{') != std::string_view::npos || seg.find('}') != std::string_view::npos) &&
            !is_param_segment(seg))
            throw std::invalid_argument("a parameter must be a whole segment: " + std::string(t));
        out.emplace_back(seg);
        if (next == std::string_view::npos) break;
        pos = next + 1;
    }
    return out;
}

constexpr std::string_view known_methods[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"};

name_values to_name_values(const boost::urls::params_view& params) {
    name_values out;
    for (auto p : params) out.add(std::string(p.key), std::string(p.value));
    return out;
}

}  // namespace

std::vector<std::string> route::param_names() const {
    std::vector<std::string> out;
    for (const auto& s : segments)
        if (is_param_segment(s)) out.push_back(s.substr(1, s.size() - 2));
    return out;
}

bool route::answered_by_replica() const {
    switch (doc.on_replica) {
        case route_doc::replica_answer::replica: return true;
        case route_doc::replica_answer::leader: return false;
        case route_doc::replica_answer::by_method: break;
    }
    return method == "GET" || method == "HEAD" || method == "OPTIONS";
}

void router::add(std::string method, std::string path_template, route_doc doc, handler h) {
    if (std::find(std::begin(known_methods), std::end(known_methods), method) == std::end(known_methods))
        throw std::invalid_argument("unknown HTTP method: " + method);
    if (!h) throw std::invalid_argument("route without handler: " + path_template);
    route r;
    r.segments = split_template(path_template);
    if (r.segments.size() > max_segments) throw std::invalid_argument("route template too deep: " + path_template);
    auto names = r.param_names();
    std::sort(names.begin(), names.end());
    if (std::adjacent_find(names.begin(), names.end()) != names.end())
        throw std::invalid_argument("duplicate parameter name in " + path_template);
    // Indexes, not references: adding a node may move the others.
    std::uint32_t at = 0;
    for (const auto& seg : r.segments) {
        std::uint32_t next = 0;
        if (is_param_segment(seg)) {
            next = nodes_[at].param;
        } else {
            for (const auto& [text, child] : nodes_[at].literals)
                if (text == seg) next = child;
        }
        if (next == 0) {
            next = static_cast<std::uint32_t>(nodes_.size());
            nodes_.emplace_back();
            if (is_param_segment(seg))
                nodes_[at].param = next;
            else
                nodes_[at].literals.emplace_back(seg, next);
        }
        at = next;
    }
    for (auto i : nodes_[at].shape)
        if (routes_[i].method == method)
            throw std::invalid_argument("duplicate route: " + method + " " + path_template);
    r.method = std::move(method);
    r.path_template = std::move(path_template);
    r.doc = std::move(doc);
    r.handle = wrapper_ ? wrapper_(std::move(h), r) : std::move(h);
    nodes_[at].shape.push_back(static_cast<std::uint32_t>(routes_.size()));
    routes_.push_back(std::move(r));
}

namespace {

// Whether an encoded path segment decodes to `text`, without decoding it into a string.
bool segment_is(boost::urls::pct_string_view seg, std::string_view text) {
    if (seg.decoded_size() != text.size()) return false;
    if (seg.size() == text.size()) return std::string_view(seg.data(), seg.size()) == text;  // nothing escaped
    return *seg == text;
}

}  // namespace

boost::system::result<route_match, problem> router::match(std::string_view method, std::string_view target) const {
    auto parsed = boost::urls::parse_origin_form(target);
    if (!parsed)
        return bad_request("invalid_target",
                           "The request target is not a valid origin-form URI (check the percent-encoding).");
    const boost::urls::url_view& url = *parsed;

    // Views into the target: a segment is decoded only when it becomes a parameter's value.
    std::array<boost::urls::pct_string_view, max_segments> segs;
    std::size_t count = 0;
    bool too_deep = false;
    for (auto s : url.encoded_segments()) {
        if (count == segs.size()) {
            too_deep = true;
            break;
        }
        segs[count++] = s;
    }
    // "/" parses as one empty segment in some forms; treat it as the root.
    if (count == 1 && segs[0].empty()) count = 0;

    // Among templates matching the path, the most specific wins: at the first segment where two
    // differ, a literal beats a parameter ("/v1/users/lookup" over "/v1/users/{u}"). Trying the
    // literal child before the parameter child, depth first, finds exactly that one.
    constexpr auto none = std::numeric_limits<std::uint32_t>::max();
    auto find = [&](auto& self, std::uint32_t at, std::size_t i) -> std::uint32_t {
        const node& n = nodes_[at];
        if (i == count) return n.shape.empty() ? none : at;
        for (const auto& [text, child] : n.literals) {
            if (!segment_is(segs[i], text)) continue;
            if (auto leaf = self(self, child, i + 1); leaf != none) return leaf;
            break;  // literals are distinct: no other can match
        }
        if (n.param != 0 && !segs[i].empty()) return self(self, n.param, i + 1);
        return none;
    };
    const auto leaf = too_deep ? none : find(find, 0, 0);
    if (leaf == none) return not_found("No resource at " + std::string(url.encoded_path()) + ".");
    const auto& shape = nodes_[leaf].shape;

    // HEAD is answered by the GET route wherever no HEAD route of its own exists (RFC 9110
    // section 9.3.2); the server then sends the head of the answer only. Not registered as a
    // route of its own, so the OpenAPI document lists GET once, not a HEAD twin.
    const route* found = nullptr;
    const route* get = nullptr;
    for (auto i : shape) {
        const auto& r = routes_[i];
        if (r.method == method) found = &r;
        if (r.method == "GET") get = &r;
    }
    if (found == nullptr && method == "HEAD") found = get;
    if (found == nullptr) {
        std::string allow;
        auto allow_method = [&](std::string_view m) {
            if (allow.find(m) != std::string::npos) return;
            if (!allow.empty()) allow += ", ";
            allow += m;
        };
        for (auto i : shape) {
            allow_method(routes_[i].method);
            if (routes_[i].method == "GET") allow_method("HEAD");
        }
        return method_not_allowed(allow);
    }

    route_match m;
    m.found = found;
    for (std::size_t i = 0; i < count; ++i)
        if (const auto& t = found->segments[i]; is_param_segment(t))
            m.path_params.add(t.substr(1, t.size() - 2), segs[i].decode());
    // Boost.URL counts one empty-named parameter in a bare '?' (parse_query counts none).
    if (!url.encoded_query().empty()) m.query = to_name_values(url.params());
    // A parameter the route does not declare is refused, as unknown body fields are: a misspelt
    // filter ("stauts=locked") silently ignored would answer a different question than was asked.
    // Decided here, from the route_doc the OpenAPI document is made of, so the two cannot differ.
    for (const auto& item : m.query.items()) {
        // Named, not a structured binding: clang 14 (the fuzz build) cannot capture those.
        const auto& name = item.first;
        if (name.empty() && item.second.empty()) continue;  // "?&": separators, not a parameter
        auto declared = std::any_of(found->doc.params.begin(), found->doc.params.end(),
                                    [&](const param_doc& d) { return d.in == "query" && d.name == name; });
        if (!declared) {
            std::string known;
            for (const auto& d : found->doc.params)
                if (d.in == "query") known += (known.empty() ? "" : ", ") + d.name;
            return query_problem("unknown_query_parameter", name,
                                 "Unknown query parameter '" + name + "'; this resource takes " +
                                     (known.empty() ? std::string("none") : known) + ".");
        }
    }
    return m;
}

boost::system::result<name_values, problem> parse_query(std::string_view target) {
    auto q = target;
    if (auto pos = q.find('?'); pos != std::string_view::npos)
        q = q.substr(pos + 1);
    else if (q.starts_with('/'))
        return name_values{};  // a path without a query
    // Boost.URL 1.81 measures the view it is given with strlen (boostorg/url#757, #946): it would
    // read past the target and into whatever follows it, so it gets its own terminated copy.
    const std::string query(q);
    auto parsed = boost::urls::parse_query(query);
    if (!parsed) return bad_request("invalid_query", "The query string is not valid (check the percent-encoding).");
    // The string constructor decodes '+' as space; `query` was just validated, so it cannot throw.
    return to_name_values(boost::urls::params_view(query));
}

}  // namespace roster::api
