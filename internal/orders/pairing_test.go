package orders

import (
	"strings"
	"testing"
)

func TestDeviceName(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"plain", "iPhone 15", "iPhone 15"},
		{"trimmed", "  Mate 60 Pro \t", "Mate 60 Pro"},
		{"Chinese", "张三的iPhone", "张三的iPhone"},
		{"control characters dropped", "evil\r\nSet-Cookie: x\x00", "evilSet-Cookie: x"},
		{"invalid UTF-8 dropped", "ab\xff\xfecd", "abcd"},
		{"64 characters kept", strings.Repeat("长", 64), strings.Repeat("长", 64)},
		{"cut at 64 characters, not bytes", strings.Repeat("长", 65), strings.Repeat("长", 64)},
		{"cut, then trimmed", strings.Repeat("a", 63) + "  tail", strings.Repeat("a", 63)},
		{"empty", "", ""},
		{"only spaces", "   ", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := deviceName(tc.in); got != tc.want {
				t.Errorf("deviceName(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
