package main

import (
	"testing"

	"github.com/beianscan/beianscan/internal/server"
)

// TestConfigFaces covers the face thresholds of the machine pre-review.
func TestConfigFaces(t *testing.T) {
	type view struct{ share, centre float64 }
	runConfigCases(t, func(c server.Config) view {
		return view{c.Images.Thresholds.FaceMinShare, c.Images.Thresholds.FaceCenterTolerance}
	}, []configCase[view]{
		{name: "defaults", want: view{0.16, 0.25}},
		{name: "environment", env: map[string]string{"BEIANSCAN_FACE_MIN_SHARE": "0.2", "BEIANSCAN_FACE_CENTER_TOLERANCE": "0.3"}, want: view{0.2, 0.3}},
		{name: "flags", args: []string{"-face-min-share", "0.1", "-face-center-tolerance", "0.15"},
			env: map[string]string{"BEIANSCAN_FACE_MIN_SHARE": "0.2"}, want: view{0.1, 0.15}},
		{name: "bad share", env: map[string]string{"BEIANSCAN_FACE_MIN_SHARE": "big"}, wantErr: "BEIANSCAN_FACE_MIN_SHARE"},
		{name: "negative tolerance", env: map[string]string{"BEIANSCAN_FACE_CENTER_TOLERANCE": "-1"}, wantErr: "BEIANSCAN_FACE_CENTER_TOLERANCE"},
	})
}
