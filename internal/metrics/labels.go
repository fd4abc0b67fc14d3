package metrics

import (
	"net/http"
	"strconv"

	"github.com/beianscan/beianscan/internal/events"
	"github.com/beianscan/beianscan/internal/filing"
)

// Every label value comes from a closed set (docs/operations.md): a value a request can
// choose (its method, a path parameter) would otherwise make a new series per request, and
// series are never freed. Each recording method maps what it is given onto its label's set,
// and anything else onto "other".

// other is the label of every value outside a label's set.
const other = "other"

func setOf(vs ...string) map[string]bool {
	m := make(map[string]bool, len(vs))
	for _, v := range vs {
		m[v] = true
	}
	return m
}

var (
	methods = setOf(http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace)
	steps      = setOf("header", "decode", "analyse", "strip", "fit", "stitch", "face")
	eventTypes = setOf(events.PairingCreated, events.PairingExpired, events.PhoneConnected,
		events.PhoneDisconnected, events.MaterialUploaded, events.MaterialRemoved, events.UploadComplete,
		events.StateChanged, events.MethodChanged, "order_edited", "review_decided", "authority_updated")
	endReasons = setOf("expired", "replaced", "revoked", "method_changed", "withdrawn")
	blobOps    = setOf("put", "open", "delete")
	sweptKinds = setOf("order", "blob", "leftover")
	vias       = setOf(string(filing.ViaApp), string(filing.ViaPC))
	// The commands beianscan sends, lower case as go-redis names them; "pipeline" stands for
	// a batch.
	redisCommands = setOf("pipeline", "multi", "exec", "watch", "unwatch", "discard",
		"get", "set", "setnx", "getdel", "getex", "del", "unlink", "exists", "expire", "pexpire",
		"expireat", "pexpireat", "ttl", "pttl", "persist", "incr", "incrby", "decr", "decrby",
		"hget", "hset", "hsetnx", "hdel", "hgetall", "hmget", "hincrby", "hexists", "hlen",
		"sadd", "srem", "smembers", "sismember", "scard",
		"zadd", "zrem", "zrange", "zrangebyscore", "zrevrange", "zrevrangebyscore", "zscore", "zcard",
		"zremrangebyscore", "zrangestore", "zcount",
		"lpush", "rpush", "lpop", "rpop", "lrange", "ltrim", "llen",
		"xadd", "xrange", "xrevrange", "xlen", "xtrim", "xdel",
		"eval", "evalsha", "evalsha_ro", "eval_ro", "script", "fcall",
		"publish", "subscribe", "unsubscribe", "psubscribe", "punsubscribe", "ping", "wait", "info",
		"time", "hello", "client", "select", "auth", "type", "rename", "cluster", "readonly")
)

func closed(v string, set map[string]bool) string {
	if set[v] {
		return v
	}
	return other
}

// methodLabel is an HTTP method's label: the standard methods, else "other".
func methodLabel(m string) string { return closed(m, methods) }

// statusLabel is an HTTP status's label: a status of 100–599, else "other".
func statusLabel(s int) string {
	if s < 100 || s > 599 {
		return other
	}
	return strconv.Itoa(s)
}

// codeLabel is an error code's label: "" (none) or a code of the contract, else "other".
func codeLabel(c string) string {
	if c == "" || filing.KnownCode(c) {
		return c
	}
	return other
}

// outcomeLabel is an upload's or claim's label: "ok" or a code of the contract.
func outcomeLabel(o string) string {
	if o == "ok" {
		return o
	}
	return codeLabel(o)
}

// slotLabel is a slot's label: a slot of the contract, else "unknown".
func slotLabel(s string) string {
	if filing.Slot(s).Valid() {
		return s
	}
	return "unknown"
}

// SetRoutes fixes the route patterns the request metrics may carry: the router's, which the
// server passes once its routes are registered. Any other route, and every route before
// this is called, is "other"; "unmatched" is kept for requests no route took.
func (m *Metrics) SetRoutes(patterns []string) {
	if m == nil {
		return
	}
	rs := setOf(append(patterns, "unmatched")...)
	m.routes.Store(&rs)
}

func (m *Metrics) route(r string) string {
	if rs := m.routes.Load(); rs != nil && (*rs)[r] {
		return r
	}
	return other
}
