package main

import (
	"testing"
	"time"

	"github.com/beianscan/beianscan/internal/limits"
	"github.com/beianscan/beianscan/internal/server"
)

// TestConfigFromLimits reads the abuse limits (docs/operations.md): BEIANSCAN_ORDER_RATE,
// BEIANSCAN_PAIRING_RATE and BEIANSCAN_WS_PER_ORDER, with their flags.
func TestConfigFromLimits(t *testing.T) {
	type view struct {
		order, pairing limits.Rate
		ws             int
	}
	runConfigCases(t, func(c server.Config) view { return view{c.OrderRate, c.PairingRate, c.WebsocketsPerOrder} }, []configCase[view]{
		{name: "defaults", want: view{limits.Rate{N: 30, Per: time.Hour}, limits.Rate{N: 60, Per: time.Hour}, 20}},
		{name: "environment", env: map[string]string{
			"BEIANSCAN_ORDER_RATE": "5/m", "BEIANSCAN_PAIRING_RATE": "2/s", "BEIANSCAN_WS_PER_ORDER": "3"},
			want: view{limits.Rate{N: 5, Per: time.Minute}, limits.Rate{N: 2, Per: time.Second}, 3}},
		{name: "0 turns each off", env: map[string]string{
			"BEIANSCAN_ORDER_RATE": "0", "BEIANSCAN_PAIRING_RATE": "0", "BEIANSCAN_WS_PER_ORDER": "0"},
			want: view{limits.RateOff, limits.RateOff, limits.Off}},
		{name: "flags win", args: []string{"-order-rate", "100/h", "-pairing-rate", "10/m", "-ws-per-order", "50"},
			env:  map[string]string{"BEIANSCAN_ORDER_RATE": "5/m", "BEIANSCAN_WS_PER_ORDER": "3"},
			want: view{limits.Rate{N: 100, Per: time.Hour}, limits.Rate{N: 10, Per: time.Minute}, 50}},
		{name: "order rate without a period", env: map[string]string{"BEIANSCAN_ORDER_RATE": "30"}, wantErr: "BEIANSCAN_ORDER_RATE"},
		{name: "pairing rate per day", env: map[string]string{"BEIANSCAN_PAIRING_RATE": "60/d"}, wantErr: "BEIANSCAN_PAIRING_RATE"},
		{name: "negative websockets", env: map[string]string{"BEIANSCAN_WS_PER_ORDER": "-1"}, wantErr: "BEIANSCAN_WS_PER_ORDER"},
		{name: "websockets not a number", env: map[string]string{"BEIANSCAN_WS_PER_ORDER": "many"}, wantErr: "BEIANSCAN_WS_PER_ORDER"},
	})
}
