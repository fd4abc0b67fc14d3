package main

import (
	"context"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestREADMEConfigurationTable: the README's configuration table is the contract of the
// command's environment. It names every BEIANSCAN_ variable the command reads (serving,
// reencrypt and healthcheck alike), each in one row, and none the command does not read.
func TestREADMEConfigurationTable(t *testing.T) {
	read := map[string]bool{}
	record := func(name string) string {
		if strings.HasPrefix(name, "BEIANSCAN_") {
			read[name] = true
		}
		return ""
	}
	if _, err := configFrom(nil, record); err != nil {
		t.Fatal(err)
	}
	// Without keys reencrypt stops once it has read its environment; an unknown flag
	// stops healthcheck before it dials.
	runReencrypt(context.Background(), nil, record, io.Discard)
	healthcheck([]string{"-no-such-flag"}, record, io.Discard)

	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]int{}
	for _, m := range regexp.MustCompile("(?m)^\\| `(BEIANSCAN_[A-Z0-9_]+)` \\|").FindAllStringSubmatch(string(readme), -1) {
		rows[m[1]]++
	}
	for _, name := range sortedKeys(read) {
		switch rows[name] {
		case 0:
			t.Errorf("the command reads %s, which the README's configuration table does not list", name)
		case 1:
		default:
			t.Errorf("the README's configuration table lists %s %d times", name, rows[name])
		}
	}
	for _, name := range sortedKeys(rows) {
		if !read[name] {
			t.Errorf("the README's configuration table lists %s, which the command does not read", name)
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
