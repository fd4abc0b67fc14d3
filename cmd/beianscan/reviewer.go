package main

import (
	"fmt"
	"io"

	"github.com/beianscan/beianscan/internal/reviewers"
)

// reviewerCommand is `beianscan reviewer add NAME`: it prints a fresh random key for the
// reviewer and the line to add to the BEIANSCAN_REVIEWERS file. The key is shown once and
// stored nowhere; the file keeps only its SHA-256.
func reviewerCommand(args []string, stdout, stderr io.Writer) int {
	if len(args) != 2 || args[0] != "add" {
		fmt.Fprintln(stderr, "usage: beianscan reviewer add NAME")
		return 2
	}
	key, line, err := reviewers.NewKey(args[1])
	if err != nil {
		fmt.Fprintln(stderr, "beianscan:", err)
		return 2
	}
	fmt.Fprintf(stdout, "key (give it to %s; it is not shown again): %s\n", args[1], key)
	fmt.Fprintf(stdout, "add this line to the BEIANSCAN_REVIEWERS file:\n%s\n", line)
	return 0
}
