// The visitor of a std::visit over events or commands: one lambda per alternative. Without a
// catch-all lambda the visit does not compile when an alternative is added and not handled.
#pragma once

namespace roster::domain {

template <class... Fs>
struct overloaded : Fs... {
    using Fs::operator()...;
};
// Spelled out for clang 14 (the fuzz build), which lacks aggregate deduction (P1816).
template <class... Fs>
overloaded(Fs...) -> overloaded<Fs...>;

}  // namespace roster::domain
