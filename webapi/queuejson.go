package webapi

import (
	"bytes"
	"strconv"

	"github.com/beianscan/beianscan/internal/jsonx"
	"github.com/beianscan/beianscan/internal/orders"
)

// appendQueuePage writes a queue page as encoding/json would (HTML-escaped, with its
// trailing newline, TestQueuePageJSON holds the two to each other), by hand: the queue is
// the workbench's most frequent call, and reflection and the encoder's validation pass
// cost more than the page's Redis reads.
func appendQueuePage(b []byte, p orders.QueuePage) []byte {
	b = append(b, `{"orders":[`...)
	for i, e := range p.Orders {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendQueueEntry(b, e)
	}
	b = append(b, `],"next_cursor":`...)
	if p.NextCursor == nil {
		b = append(b, "null"...)
	} else {
		b = jsonx.AppendString(b, *p.NextCursor)
	}
	return append(b, "}\n"...)
}

// appendQueueEntry writes the entry; what does not change with the time (all of it up to
// its wait) is written once per memo (orders.QueueEntry.Memo), for the pages the store
// answers again from one read.
func appendQueueEntry(b []byte, e orders.QueueEntry) []byte {
	if e.Memo == nil {
		b = appendQueueHead(b, e)
	} else if head := e.Memo.Load(); head != nil {
		b = append(b, head...)
	} else {
		start := len(b)
		b = appendQueueHead(b, e)
		e.Memo.Keep(bytes.Clone(b[start:]))
	}
	b = append(b, `,"waiting_s":`...)
	b = strconv.AppendInt(b, e.WaitingS, 10)
	b = append(b, `,"held_by":`...)
	if e.HeldBy == nil {
		b = append(b, "null"...)
	} else {
		b = jsonx.AppendString(b, *e.HeldBy)
	}
	b = append(b, `,"held_until":`...)
	if e.HeldUntil == nil {
		b = append(b, "null"...)
	} else {
		b = jsonx.AppendTime(b, *e.HeldUntil)
	}
	return append(b, '}')
}

// appendQueueHead writes the entry up to its wait.
func appendQueueHead(b []byte, e orders.QueueEntry) []byte {
	b = append(b, `{"id":`...)
	b = jsonx.AppendString(b, e.ID)
	b = append(b, `,"subject_type":`...)
	b = jsonx.AppendString(b, string(e.SubjectType))
	b = append(b, `,"province":`...)
	b = jsonx.AppendString(b, e.Province)
	b = append(b, `,"subject_name":`...)
	b = jsonx.AppendString(b, e.SubjectName)
	b = append(b, `,"domains":`...)
	b = jsonx.AppendStrings(b, e.Domains)
	b = append(b, `,"domains_ascii":`...)
	b = jsonx.AppendStrings(b, e.DomainsASCII)
	b = append(b, `,"round":`...)
	b = strconv.AppendInt(b, int64(e.Round), 10)
	b = append(b, `,"submitted_at":`...)
	return jsonx.AppendTime(b, e.SubmittedAt)
}
