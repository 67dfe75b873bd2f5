#include "roster/api/http.hpp"

#include <atomic>

#include "roster/api/problem.hpp"

namespace roster::api {

std::optional<std::string_view> name_values::get(std::string_view name) const {
    for (const auto& [n, v] : items_)
        if (n == name) return std::string_view(v);
    return std::nullopt;
}

std::vector<std::string_view> name_values::get_all(std::string_view name) const {
    std::vector<std::string_view> out;
    for (const auto& [n, v] : items_)
        if (n == name) out.emplace_back(v);
    return out;
}

std::size_t name_values::count(std::string_view name) const {
    std::size_t c = 0;
    for (const auto& item : items_)
        if (item.first == name) ++c;
    return c;
}

std::string_view request_context::param(std::string_view name) const {
    return path_params.get(name).value_or(std::string_view{});
}

std::string to_lower_ascii(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

struct responder::state {
    explicit state(std::shared_ptr<detail::reply_slot> s) : slot(std::move(s)) {}
    // Every copy gone without an answer: a handler bug, but the client still gets one.
    ~state() {
        if (!used.exchange(true)) slot->deliver(internal_error("").to_response());
    }
    std::shared_ptr<detail::reply_slot> slot;
    std::atomic<bool> used{false};
};

responder::responder(std::shared_ptr<detail::reply_slot> slot) : state_(std::make_shared<state>(std::move(slot))) {}

bool responder::operator()(response r) const {
    if (state_->used.exchange(true)) return false;
    state_->slot->deliver(std::move(r));
    return true;
}

bool responder::responded() const noexcept { return state_->used.load(); }

namespace {
class function_slot final : public detail::reply_slot {
public:
    explicit function_slot(std::function<void(response)> f) : f_(std::move(f)) {}
    void deliver(response r) override { f_(std::move(r)); }

private:
    std::function<void(response)> f_;
};
}  // namespace

responder make_responder(std::function<void(response)> sink) {
    return responder(std::make_shared<function_slot>(std::move(sink)));
}

}  // namespace roster::api
