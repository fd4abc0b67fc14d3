// Package rediskeys builds every Redis key and channel name of beianscan in one place, from
// one prefix, with the order's ID as the hash tag so that every multi-key script and
// transaction about one order runs on Redis Cluster too.
package rediskeys

import (
	"strconv"
	"strings"
)

// Prefix starts every key.
const Prefix = "beian:"

func order(id, suffix string) string { return Prefix + "{" + id + "}:" + suffix }

// Order holds the order's JSON.
func Order(id string) string { return order(id, "order") }

// Version holds the order's version counter.
func Version(id string) string { return order(id, "version") }

// Materials is a hash of slot → material JSON.
func Materials(id string) string { return order(id, "materials") }

// Pairing is a hash describing the order's current QR pairing.
func Pairing(id string) string { return order(id, "pairing") }

// Audit is the order's audit trail, a capped stream that expires with the order (docs/operations.md, Privacy).
func Audit(id string) string { return order(id, "audit") }

// Hold is a hash of the reviewer's hold on the order: reviewer, until (Unix ms), round.
func Hold(id string) string { return order(id, "hold") }

// ReviewQueue is the sorted set of orders waiting for review: member ReviewQueueMember,
// score the submission's time (Unix ms). It is not tied to one order, so it has a hash tag
// of its own and is written beside each order's transaction, not inside it
// (docs/architecture.md, "Review queue").
// A scope keeps servers that share one Redis apart (tests), as for the counters below.
func ReviewQueue(scope string) string { return Prefix + "{review" + scopeSuffix(scope) + "}:queue" }

// ReviewQueueCopies is the review queue's own copy of each waiting order's summary and
// hold, a hash in the queue's slot beside ReviewQueue: fields "q:ID" and "h:ID" copy the
// order's Queued fields, "s:ID" the sequence number they were copied at. A page then reads
// the queue and the copies in one script, whatever the number waiting.
func ReviewQueueCopies(scope string) string {
	return Prefix + "{review" + scopeSuffix(scope) + "}:copies"
}

// ReviewQueueWriting counts, per order ID, the changes of that order between their mark
// (before the order's transaction) and their copy (after it): a page reads an order whose
// count is not zero from the order itself, not from its copy (docs/architecture.md,
// "Review queue").
func ReviewQueueWriting(scope string) string {
	return Prefix + "{review" + scopeSuffix(scope) + "}:writing"
}

// ReviewQueueStamp is the review queue's change stamp, a string in the queue's slot that
// every script changing what a page could show (a mark, a copy, a removal) sets to a new
// random value in the same step: an instance's cached page is current while the stamp is
// the one it was read at (docs/architecture.md, "The queue's copies").
func ReviewQueueStamp(scope string) string {
	return Prefix + "{review" + scopeSuffix(scope) + "}:stamp"
}

// ReviewQueueMember names one round of one order in the review queue: a round is submitted
// once, so an entry of a round that has ended can be removed without a race.
func ReviewQueueMember(id string, round int) string { return id + ":" + strconv.Itoa(round) }

// ParseReviewQueueMember splits a ReviewQueueMember.
func ParseReviewQueueMember(m string) (id string, round int, ok bool) {
	id, r, ok := strings.Cut(m, ":")
	if !ok || id == "" {
		return "", 0, false
	}
	n, err := strconv.Atoi(r)
	return id, n, err == nil && n > 0
}

// ReviewSession holds a reviewer's session (the reviewer's name) under the SHA-256 of its
// cookie; not tied to an order, so the hash tag is its own.
func ReviewSession(hash string) string { return Prefix + "review-session:{" + hash + "}" }

// Idempotency holds the first answer to an upload with the given (hashed) key.
func Idempotency(id, keyHash string) string { return order(id, "idem:"+keyHash) }

// Events is the pub/sub channel of the order's events.
func Events(id string) string { return order(id, "events") }

// Sync is a channel nobody subscribes to: a PUBLISH on it is a write that reaches every
// replica, which a WAIT after an answer that changed nothing can then wait for.
func Sync(id string) string { return order(id, "sync") }

// OrderFromEvents returns the order ID of an events channel name.
func OrderFromEvents(channel string) (string, bool) {
	rest, ok := strings.CutPrefix(channel, Prefix+"{")
	if !ok {
		return "", false
	}
	id, ok := strings.CutSuffix(rest, "}:events")
	return id, ok && id != "" && !strings.ContainsAny(id, "{}")
}

// Guesses counts a client IP's claims of codes that match no pairing. It is not tied to an
// order, so it has a hash tag of its own.
func Guesses(ip string) string { return Prefix + "guess:{" + ip + "}" }

// Retired is a hash of the SHA-256 of an order's recently replaced or revoked pairing codes
// → the time (Unix ms) until which a claim of one answers 410 pairing_expired rather than
// 404: the page renewed its QR, and the person holding the old one should be told so.
func Retired(id string) string { return order(id, "retired") }

// PairingRate is the GCRA state of the order's QR pairing rate (BEIANSCAN_PAIRING_RATE).
// go-redis/redis_rate puts its own "rate:" in front; the hash tag stays the order's.
func PairingRate(scope, id string) string { return order(id, "pairing-rate"+scopeSuffix(scope)) }

// OrderRate is the GCRA state of a client IP's order creations (BEIANSCAN_ORDER_RATE).
// Like Guesses it is not tied to an order, so it has a hash tag of its own.
func OrderRate(scope, ip string) string {
	return Prefix + "order-rate" + scopeSuffix(scope) + ":{" + ip + "}"
}

// WebsocketLeases is a sorted set of the order's live desktop websockets across every
// instance: member = instance/connection, score = the lease's expiry (Unix ms), renewed
// while the connection lives, so an instance that dies leaks nothing for long.
func WebsocketLeases(scope, id string) string { return order(id, "ws"+scopeSuffix(scope)) }

// scopeSuffix keeps the counters of servers that share one Redis apart when they are given
// a scope (tests); production leaves it empty so that every instance counts together.
func scopeSuffix(scope string) string {
	if scope == "" {
		return ""
	}
	return "@" + scope
}

// Format holds the version of the layout of everything under Prefix (redisstore.Format):
// one key for the whole data set, read and set by every instance at start.
const Format = Prefix + "format"

// Webhooks is the order's webhook outbox (docs/architecture.md, "Webhook outbox"): a hash
// of delivery ID → the delivery's JSON, written in the same transaction as the change it
// reports, in the order's slot. It outlives the order's other keys, so that order.deleted
// can still be sent once retention has removed them.
func Webhooks(id string) string { return order(id, "webhooks") }

// WebhookDue is the index the deliverers of every instance find due work in: a sorted set
// of order ID → when its outbox next needs a deliverer (Unix ms; a leased order carries its
// lease's end). It is not tied to an order, so it has a hash tag of its own; scope keeps
// the deliverers of tests sharing one Redis apart.
func WebhookDue(scope string) string { return Prefix + "{webhooks" + scopeSuffix(scope) + "}:due" }

// WebhookListed indexes the orders whose outbox holds deliveries (pending or failed; not
// the deletion watch, nor dead ones) for the operator's listing: a sorted set of order ID →
// the earliest next attempt among them (Unix ms). Same hash tag as WebhookDue.
func WebhookListed(scope string) string {
	return Prefix + "{webhooks" + scopeSuffix(scope) + "}:listed"
}

// WebhookDead lists the dead deliveries across orders for the operator: a sorted set of
// "ORDER_ID DELIVERY_ID" → when it died (Unix ms). Same hash tag as WebhookDue.
func WebhookDead(scope string) string { return Prefix + "{webhooks" + scopeSuffix(scope) + "}:dead" }

// SecretGuesses counts one client IP's presentations of a secret of one kind (the operator
// key, a reviewer's key) in the current window (internal/limits.Guesses). Not tied to an
// order: a hash tag of its own.
func SecretGuesses(scope, kind, ip string) string {
	return Prefix + "secret-guess:" + kind + scopeSuffix(scope) + ":{" + ip + "}"
}

// AuditReads holds an order's read summaries beside its audit stream: one counter per
// actor, action, slot, hour and address (internal/redisstore's audit.lua).
func AuditReads(id string) string { return order(id, "audit-reads") }

// ResumeGuesses counts a client IP's wrong resume codes, across orders. Like Guesses it is
// not tied to an order, so it has a hash tag of its own.
func ResumeGuesses(ip string) string { return Prefix + "resume-guess:{" + ip + "}" }

// OrderResumeGuesses counts the wrong resume codes sent for one order, from any IP; it
// lapses with its window, well within the order's own life.
func OrderResumeGuesses(id string) string { return order(id, "resume-guess") }

func device(hash, suffix string) string { return Prefix + "{device:" + hash + "}:" + suffix }

// DeviceRecent is a sorted set of the orders a device uploaded to, score the last upload
// (Unix ms); DeviceOrders holds each one's details (JSON) and DeviceGeneration the counter
// that revokes the device's tokens. hash is auth.Signer.DeviceHash, never the raw ID. The
// three share the device's hash tag, not an order's, so they are written beside the
// upload's transaction (docs/architecture.md, "The phone's list").
func DeviceRecent(hash string) string { return device(hash, "recent") }

// DeviceOrders: see DeviceRecent.
func DeviceOrders(hash string) string { return device(hash, "orders") }

// DeviceGeneration: see DeviceRecent.
func DeviceGeneration(hash string) string { return device(hash, "gen") }

// OwnerOrders is the index of one owner's orders (docs/architecture.md, "Owners come
// back"): a sorted set of order ID → creation time (Unix ms). Its hash tag is the owner's
// (the SHA-256 of the owner ID, hex, which any ID may become a key through), so it lives in
// another slot than its orders and is written beside their transactions. A scope keeps
// servers sharing one Redis apart (tests).
func OwnerOrders(scope, ownerHash string) string {
	return Prefix + "{owner" + scopeSuffix(scope) + ":" + ownerHash + "}:orders"
}

// Queued is the order's summary for the review queue, a hash: what the queue shows of the
// order, written in the order's transaction with every change, a copy of its hold
// (redisstore.QueuedSummary), and the sequence number of those writes, which orders their
// copies in ReviewQueueCopies. A queue page reads it for an order whose copy is missing or
// being written, instead of the order's JSON and its hold.
func Queued(id string) string { return order(id, "queued") }
