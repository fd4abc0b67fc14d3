// Package broker carries order events between beianscan instances: the hub (internal/hub)
// says which orders this instance wants, the broker subscribes to them and hands over what is
// published. The hub knows desktops and frames; the broker knows Redis, and owns the promise
// that makes pub/sub's losses harmless (STYLE habit 12, centrifuge's Broker and Hub):
//
//   - Subscribe and Unsubscribe only queue; calls about one order reach Redis in call order.
//   - Handler.Subscribed(id) is called when the server confirms the order's subscription:
//     first when the hub asked, and again for every order still wanted each time the
//     subscription was re-established — after a dropped connection (Redis restarted, a
//     network cut) or a master switch (Sentinel failover). Messages published in between may
//     be lost, so a repeated confirmation means "re-read this order" (the hub sends each of
//     its desktops a fresh snapshot). A failover is noticed within a second (Redis: Sentinel's
//     +switch-master and a poll of the Sentinels), so desktops are current again within 2 s.
//   - Message(id, payload) delivers a published event, as published.
package broker

import "context"

// Handler receives what a Broker's Run delivers. Its methods are called from Run's goroutine,
// one at a time, and must not block for long.
type Handler interface {
	// Subscribed: the order's channel is (again) subscribed; see the package doc.
	Subscribed(orderID string)
	// Unsubscribed: the server confirmed the order's unsubscription.
	Unsubscribed(orderID string)
	// Message is one published event of the order.
	Message(orderID string, payload []byte)
}

// Broker is the contract above; Redis is its implementation.
type Broker interface {
	// Subscribe queues a subscription of the orders' channel. It never blocks on the network.
	Subscribe(orderID string)
	// Unsubscribe queues the end of one.
	Unsubscribe(orderID string)
	// Run connects, sends the queued (un)subscriptions and delivers to h until ctx ends
	// (nil) or the broker fails for good. Run it once at a time; a later Run re-subscribes
	// every order still wanted.
	Run(ctx context.Context, h Handler) error
}
