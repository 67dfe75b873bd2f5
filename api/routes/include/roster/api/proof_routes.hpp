// The signed-checkpoint routes (issue 13, item 6): the latest checkpoint, inclusion and
// consistency proofs against it, the verifier key.
#pragma once

#include "roster/api/router.hpp"

namespace roster::api {

struct service;
class checkpointer;

// GET /v1/audit/checkpoint, /v1/audit/proof/inclusion, /v1/audit/proof/consistency,
// /v1/audit/public-key; `svc` and `checkpoints` must outlive the server.
void add_proof_routes(router& routes, service& svc, checkpointer& checkpoints);
// GET /v1/audit/evidence (routes_evidence.cpp); registered by add_proof_routes.
void add_evidence_routes(router& routes, service& svc, checkpointer& checkpoints);

}  // namespace roster::api
