// The signed-checkpoint routes (issue 13, item 6): the latest checkpoint, inclusion and
// consistency proofs against it, the verifier key.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

#include "roster/api/router.hpp"

namespace roster::api {

struct service;
class checkpointer;

// GET /v1/audit/checkpoint, /v1/audit/proof/inclusion, /v1/audit/proof/consistency,
// /v1/audit/public-key; `svc` and `checkpoints` must outlive the server.
void add_proof_routes(router& routes, service& svc, checkpointer& checkpoints);
// GET /v1/audit/evidence (routes_evidence.cpp); registered by add_proof_routes.
void add_evidence_routes(router& routes, service& svc, checkpointer& checkpoints);

struct key_rotation_options {
    std::filesystem::path key_path;  // --signing-key: the key rotations replace
    std::string origin;              // --log-origin: every key's name
    // Test builds only: called at each step of a rotation ("key_rotation_before_event",
    // "key_rotation_after_event") so a test can kill the process there. Empty in production.
    std::function<void(std::string_view step)> crash_at;
};

// POST /v1/audit/signing-key/rotations (operator) and GET of the same (auditor, operator): see
// routes_key_rotation.cpp. `svc` and `checkpoints` must outlive the server.
void add_key_rotation_routes(router& routes, service& svc, checkpointer& checkpoints, key_rotation_options options);

}  // namespace roster::api
