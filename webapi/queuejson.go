package webapi

import (
	"strconv"
	"time"
	"unicode/utf8"

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
		b = appendJSONString(b, *p.NextCursor)
	}
	return append(b, "}\n"...)
}

func appendQueueEntry(b []byte, e orders.QueueEntry) []byte {
	b = append(b, `{"id":`...)
	b = appendJSONString(b, e.ID)
	b = append(b, `,"subject_type":`...)
	b = appendJSONString(b, string(e.SubjectType))
	b = append(b, `,"province":`...)
	b = appendJSONString(b, e.Province)
	b = append(b, `,"subject_name":`...)
	b = appendJSONString(b, e.SubjectName)
	b = append(b, `,"domains":`...)
	b = appendStrings(b, e.Domains)
	b = append(b, `,"domains_ascii":`...)
	b = appendStrings(b, e.DomainsASCII)
	b = append(b, `,"round":`...)
	b = strconv.AppendInt(b, int64(e.Round), 10)
	b = append(b, `,"submitted_at":`...)
	b = appendJSONTime(b, e.SubmittedAt)
	b = append(b, `,"waiting_s":`...)
	b = strconv.AppendInt(b, e.WaitingS, 10)
	b = append(b, `,"held_by":`...)
	if e.HeldBy == nil {
		b = append(b, "null"...)
	} else {
		b = appendJSONString(b, *e.HeldBy)
	}
	b = append(b, `,"held_until":`...)
	if e.HeldUntil == nil {
		b = append(b, "null"...)
	} else {
		b = appendJSONTime(b, *e.HeldUntil)
	}
	return append(b, '}')
}

// appendStrings writes a list of strings, null when nil, as encoding/json does.
func appendStrings(b []byte, ss []string) []byte {
	if ss == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, s)
	}
	return append(b, ']')
}

// appendJSONTime writes t as time.Time's MarshalJSON does.
func appendJSONTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

const hexDigits = "0123456789abcdef"

// appendJSONString writes s quoted as encoding/json does with HTML escaping: control
// characters, <, > and &, U+2028 and U+2029 as \u escapes, invalid UTF-8 as U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
