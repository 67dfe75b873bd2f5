@0x99f24e0dd06429c3;
# The stored form of every event of the Roster log (owned by roster_eventstore).
#
# Schema-evolution rule (binding for everyone who edits this file):
#   * A field's ordinal (@N) and type are never changed, never reused, never removed.
#     A field that is no longer written stays in the schema, renamed `obsoleteXxx` if needed.
#   * New fields and new union members are appended with the next free ordinal. Old readers
#     ignore them; new readers see their default in old events, so a default must mean
#     "absent" in the domain.
#   * Old events decode forever: the store never rewrites the log (the hash chain forbids it).
#   * Enums are stored as their stable domain ordinals (UInt8), never as capnp enums, so that an
#     ordinal appended in the domain needs no schema change; role sets are stored as their bits.
#   * Every envelope carries `schemaVersion` (currently 1). Bump it when the meaning of an
#     existing shape changes in a way a reader must know about (prefer a new field instead).
#
# Canonical form: each log value is the Cap'n Proto canonical encoding of one Envelope
# (single segment, no segment table, root pointer at word 0). The hash chain is computed over
# these bytes (see eventstore/README.md), so the encoding must be deterministic.

$import "/capnp/c++.capnp".namespace("roster::eventstore::schema");

struct Actor {
  principal @0 :Text;
  tokenId @1 :Text;
  address @2 :Text;
}

struct Envelope {
  position @0 :UInt64;
  stream @1 :Text;
  streamVersion @2 :UInt64;
  type @3 :Text;
  recordedAt @4 :Int64;        # microseconds since the Unix epoch, UTC
  actor @5 :Actor;
  requestId @6 :Text;
  correlationId @7 :Text;
  causationId @8 :Text;
  reason @9 :Text;
  prevHash @10 :Data;          # 32 bytes; all zero for position 1
  hash @11 :Data;              # 32 bytes; hashed as 32 zero bytes (see README)
  schemaVersion @12 :UInt16;
  payload @13 :Payload;
  reference @14 :Text;         # e.g. a change ticket; empty when none
  labels @15 :List(UserLabel); # the acting and concerned users as they were (domain::labels_of)
  traceparent @16 :Text;       # the request's W3C traceparent (version 00) as sent; empty when none
}

struct UserLabel {
  user @0 :Text;
  name @1 :Text;
  email @2 :Text;
}

# A membership's roles before and after an event (domain::role_change). A null pointer means
# "not recorded" (older events); a present struct of zeros is a real "no roles".
struct RoleChange {
  before @0 :UInt16;           # domain::role_set bits
  after @1 :UInt16;
}

# A principal of the domain (domain::principal).
struct Principal {
  union {
    operator @0 :Void;
    auditor @1 :Void;
    service @2 :Text;
    user @3 :Text;
  }
}

struct Payload {
  union {
    accountOpened @0 :AccountOpened;
    partnerLinked @1 :PartnerLinked;
    userCreated @2 :UserCreated;
    memberAdded @3 :MemberAdded;
    rolesGranted @4 :RolesGranted;
    rolesRevoked @5 :RolesRevoked;
    allRolesRemoved @6 :AllRolesRemoved;
    userLocked @7 :UserLocked;
    userUnlocked @8 :UserUnlocked;
    invitationIssued @9 :InvitationIssued;
    invitationAccepted @10 :InvitationAccepted;
    memberRemoved @11 :MemberRemoved;
    profileRetired @12 :ProfileRetired;
    contactsSaved @13 :ContactsSaved;
    contactHandedOver @14 :ContactHandedOver;
    watchlistChanged @15 :WatchlistChanged;
    tokenIssued @16 :TokenIssued;
    tokenRevoked @17 :TokenRevoked;
    accessDenied @18 :AccessDenied;
    signingKeyRotated @19 :SigningKeyRotated;
    tokenRotated @20 :TokenRotated;
    profileUpdated @21 :ProfileUpdated;
    webhookRegistered @22 :WebhookRegistered;
    webhookChanged @23 :WebhookChanged;
    webhookRemoved @24 :WebhookRemoved;
  }
}

struct AccountOpened {
  account @0 :Text;
  name @1 :Text;
  kind @2 :UInt8;              # domain::account_kind ordinal
}

struct PartnerLinked {
  customer @0 :Text;
  partner @1 :Text;
}

struct UserCreated {
  user @0 :Text;
  email @1 :Text;              # normalized; decoded through domain::email::parse
  name @2 :Text;
  employer @3 :Text;
}

struct MemberAdded {
  account @0 :Text;
  user @1 :Text;
  type @2 :UInt8;              # domain::membership_type ordinal
  change @3 :RoleChange;
}

struct RolesGranted {
  account @0 :Text;
  user @1 :Text;
  roles @2 :UInt16;            # domain::role_set bits
  change @3 :RoleChange;
}

struct RolesRevoked {
  account @0 :Text;
  user @1 :Text;
  roles @2 :UInt16;
  change @3 :RoleChange;
}

struct AllRolesRemoved {
  account @0 :Text;
  user @1 :Text;
  roles @2 :UInt16;
  change @3 :RoleChange;
}

struct UserLocked {
  user @0 :Text;
  accounts @1 :List(Text);     # the user's accounts then; empty in older events
}

struct UserUnlocked {
  user @0 :Text;
  accounts @1 :List(Text);     # the user's accounts then; empty in older events
}

struct InvitationIssued {
  invitation @0 :Text;
  user @1 :Text;
  account @2 :Text;
  secretSha256Hex @3 :Text;
  expiresAt @4 :Int64;         # microseconds since the Unix epoch, UTC
  replaces @5 :Text;
}

struct InvitationAccepted {
  invitation @0 :Text;
  user @1 :Text;
  accounts @2 :List(Text);     # the user's accounts then; empty in older events
}

struct MemberRemoved {
  account @0 :Text;
  user @1 :Text;
  type @2 :UInt8;
  roles @3 :UInt16;
  cascade @4 :Bool;
  change @5 :RoleChange;
}

struct ProfileRetired {
  user @0 :Text;
  email @1 :Text;
  accounts @2 :List(Text);     # the user's accounts then; empty in older events
}

struct ContactAssignment {
  role @0 :UInt8;              # domain::contact_role ordinal
  user @1 :Text;               # empty = cleared
  previous @2 :Text;           # the holder before (empty = unassigned), when previousRecorded
  previousRecorded @3 :Bool;   # false in older events
}

struct ContactsSaved {
  account @0 :Text;
  assignments @1 :List(ContactAssignment);
}

struct ContactHandedOver {
  account @0 :Text;
  role @1 :UInt8;
  from @2 :Text;
  to @3 :Text;
}

struct WatchSubscription {
  user @0 :Text;
  topics @1 :List(UInt8);      # domain::topic ordinals
}

struct WatchChange {
  user @0 :Text;
  before @1 :List(UInt8);      # domain::topic ordinals; empty = not on the watchlist
  after @2 :List(UInt8);
}

struct WatchlistChanged {
  account @0 :Text;
  subscriptions @1 :List(WatchSubscription);
  changes @2 :List(WatchChange);  # empty in older events
}

struct TokenIssued {
  token @0 :Text;
  subject @1 :Principal;
  secretSha256Hex @2 :Text;
  expiresAt @3 :Int64;         # microseconds since the Unix epoch, UTC; 0 = never (and in older events)
}

struct TokenRotated {
  token @0 :Text;
  secretSha256Hex @1 :Text;
  user @2 :Text;               # the token's user, when a user's token
}

struct TokenRevoked {
  token @0 :Text;
  user @1 :Text;               # the token's user, when a user's token (empty in older events)
}

struct AccessDenied {
  subject @0 :Principal;
  action @1 :Text;
  account @2 :Text;
  code @3 :Text;
  target @4 :Text;
  status @5 :UInt16;
  count @6 :UInt64 = 1;        # older events stand for one refusal
  firstAt @7 :Int64;           # microseconds since the Unix epoch, UTC
  lastAt @8 :Int64;
}

struct SigningKeyRotated {
  oldVerifierKey @0 :Text;
  newVerifierKey @1 :Text;
  treeSize @2 :UInt64;
  statement @3 :Text;          # a C2SP signed note, signed by the old and the new key
}

# A text field of a profile before and after a change.
struct TextChange {
  before @0 :Text;
  after @1 :Text;
}

struct ProfileUpdated {
  user @0 :Text;
  accounts @1 :List(Text);     # the user's accounts then: employer, then third-party ones
  name @2 :TextChange;         # set only when the name changed
  email @3 :TextChange;        # set only when the email changed (normalized addresses)
}

struct WebhookSettings {
  url @0 :Text;
  accounts @1 :List(Text);     # filter; empty = every account
  types @2 :List(Text);        # event type strings; empty = every type
  description @3 :Text;
  disabled @4 :Bool;           # false (the default) = enabled
}

struct WebhookRegistered {
  webhook @0 :Text;
  settings @1 :WebhookSettings;
  secretSha256Hex @2 :Text;    # the secret itself is never in the log
}

struct WebhookChanged {
  webhook @0 :Text;
  before @1 :WebhookSettings;
  after @2 :WebhookSettings;
}

struct WebhookRemoved {
  webhook @0 :Text;
  before @1 :WebhookSettings;
}
