package redisstore

import (
	"sync"
	"time"

	"github.com/beianscan/beianscan/internal/orders"
)

// queueCachePages bounds the pages an instance caches: the first page, which the
// workbench polls, and a few more.
const queueCachePages = 4

// queueCached is a page of the queue as read at the queue's stamp: what it shows of each
// entry but for the time (queueShown), and its next cursor. It is not changed once cached.
type queueCached struct {
	cursor string
	limit  int
	stamp  string
	shown  []queueShown
	// last is the cursor of the last entry shown, next the page's next cursor (nil: the
	// queue ends on this page).
	last string
	next *string
}

// page is the cached page as it shows at now, its entries appended to orders.
func (c *queueCached) page(now time.Time, entries []orders.QueueEntry) orders.QueuePage {
	for i := range c.shown {
		entries = append(entries, c.shown[i].at(now))
	}
	p := orders.QueuePage{Orders: entries}
	if c.next != nil {
		next := *c.next
		p.NextCursor = &next
	}
	return p
}

// queuePages is an instance's cache of queue pages, by cursor and size. A page in it is
// answered only while the queue's stamp is the one it was read at (Store.Queue), so the
// cache needs no invalidation of its own: every change of the queue, through whichever
// instance, sets the stamp anew in the step that makes it.
type queuePages struct {
	mu    sync.Mutex
	pages [queueCachePages]*queueCached
	next  int // the slot the next new page takes
}

func (q *queuePages) get(cursor string, limit int) *queueCached {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, p := range q.pages {
		if p != nil && p.cursor == cursor && p.limit == limit {
			return p
		}
	}
	return nil
}

// put keeps p in place of the page of its cursor and size, or of the oldest page.
func (q *queuePages) put(p *queueCached) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for i, old := range q.pages {
		if old != nil && old.cursor == p.cursor && old.limit == p.limit {
			q.pages[i] = p
			return
		}
	}
	q.pages[q.next] = p
	q.next = (q.next + 1) % len(q.pages)
}
