// Package hub fans an order's events out to the desktop websockets this instance holds.
//
// Any instance may raise an order's event: the store publishes it as JSON text on the
// order's channel. Every instance runs one Hub on one broker (internal/broker: the hub knows
// desktops and frames, the broker knows Redis). The hub asks the broker for the orders whose
// desktops it holds (the first desktop of an order subscribes, the last one to leave
// unsubscribes). Each desktop gets the order's snapshot first, then the events newer than it;
// pub/sub is lossy, so whenever the broker re-confirms a subscription (a reconnect, a
// failover) every desktop of that order gets a fresh snapshot. The hub follows each room's
// pending QR pairing through the snapshot and the events in version order and tells its
// Expiry; the timers that expire pairings live there (internal/pairingexpiry), not here.
//
// # The path of an upload's event
//
// File by file, from the phone's (or the desktop's) request to the desktop's websocket:
//
//  1. mobileapi/mobileapi.go (API.upload) or webapi/webapi.go (API.putMaterial): the
//     request, its body bounded, → orders.Service.Upload.
//  2. internal/orders/upload.go (Service.Upload, then Service.save): checks and image
//     validation, the blob written durably (internal/blob, Disk.Put or S3), then
//     Store.Update with the material_uploaded event (its name and data: internal/events;
//     stamped in internal/orders/service.go, Service.event).
//  3. internal/redisstore/store.go (Store.Update, Store.write): the change and its PUBLISH on
//     the order's channel (internal/rediskeys.Events) in one MULTI/EXEC, then WAIT for the
//     replicas; the handler's 201 is written only after it returns.
//  4. internal/broker/redis.go (Redis.session): each instance's one PubSub →
//     Handler.Message, which is the hub's brokerEvents.Message (hub.go).
//  5. hub.go (Hub.dispatch): the order's room on this instance; its pending pairing follows
//     the event (applyEventLocked) and is handed to the Expiry given to New (internal/pairingexpiry,
//     whose timer asks orders.Service.ExpirePairing when it lapses); → each client's bounded
//     queue (client.offerLocked).
//  6. client.go (client.writeLoop): the queue → the websocket, with a write deadline.
//
// A desktop joins through webapi/webapi.go (API.serveEvents: authorize, check Origin,
// upgrade, Hub.Start, which serves from a goroutine of its own); its snapshot is read by the snapshot func given to New
// (internal/server/server.go, snapshot), the same one a re-confirmed subscription reads.
//
// # A connection's life (client.go)
//
//	Start (or Serve): join the room
//	  │
//	  ▼
//	HOLDING ─── the subscription is confirmed, the snapshot read and queued ───▶ LIVE
//	events are held                                                  an event is queued if
//	with their versions ◀──── the broker re-confirms the subscription ──── not older than the
//	  │                       (hold, gen+1; a re-snapshot follows)     last one (nor than
//	  │                                                                the snapshot)
//	  │ subscribe timeout, snapshot failed,                               │ queue full, pong
//	  │ too many held, ctx done, read error                               │ timeout, peer close,
//	  ▼                                                                   ▼ write error, Close
//	CLOSING: done is closed once, with a close code (0: none) and a reason ◀┘
//	  │ the writer sends the close frame if there is a code, then closes the conn
//	  ▼
//	CLOSED: the reader returns and leaves the room (the last one out unsubscribes)
//
// Beside it, the writer: IDLE (no goroutine) ── push or close ──▶ WRITING (one goroutine,
// the queue with pings) ── queue empty ──▶ IDLE. The reader (reader.go) runs from join to
// the end: it parses the desktop's frames itself; pongs push its read deadline, pings are
// answered, a close is echoed, data is discarded.
//
// Memory: an idle desktop costs its websocket and one goroutine, the reader (reader.go),
// which reads client frames from the net.Conn itself on a 2 KiB stack when started by Start;
// the queue is empty and a writer goroutine runs only while there is something to write, and
// pings come from one sweep per Hub, not from a ticker per connection.
package hub
