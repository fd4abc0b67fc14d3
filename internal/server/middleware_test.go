package server

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestClientIP(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("172.28.0.0/16"), netip.MustParsePrefix("fd00::/8")}
	tests := []struct {
		name    string
		trusted []netip.Prefix
		peer    string
		xff     []string
		want    string
	}{
		{"none trusted: header ignored", nil, "172.28.0.5:1234", []string{"203.0.113.7"}, "172.28.0.5"},
		{"none trusted: loopback peer", nil, "127.0.0.1:1", []string{"10.0.0.1"}, "127.0.0.1"},
		{"untrusted peer: header ignored", proxies, "192.168.1.9:1", []string{"203.0.113.7"}, "192.168.1.9"},
		{"untrusted loopback peer", proxies, "127.0.0.1:1", []string{"203.0.113.7"}, "127.0.0.1"},
		{"trusted peer, no header", proxies, "172.28.0.5:1", nil, "172.28.0.5"},
		{"trusted peer", proxies, "172.28.0.5:1", []string{"203.0.113.7"}, "203.0.113.7"},
		{"forged left part", proxies, "172.28.0.5:1", []string{"1.1.1.1, 203.0.113.7"}, "203.0.113.7"},
		{"several headers joined", proxies, "172.28.0.5:1", []string{"1.1.1.1", "203.0.113.7"}, "203.0.113.7"},
		{"trusted hops skipped", proxies, "172.28.0.5:1", []string{"1.1.1.1, 203.0.113.7, 172.28.0.9"}, "203.0.113.7"},
		{"IPv6 client and proxy", proxies, "[fd00::2]:1", []string{"2001:db8::1"}, "2001:db8::1"},
		{"garbage from the proxy: the peer", proxies, "172.28.0.5:1", []string{"not-an-ip"}, "172.28.0.5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.peer
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := clientIP(tt.trusted)(r); got != tt.want {
				t.Errorf("client %q, want %q", got, tt.want)
			}
		})
	}
}
