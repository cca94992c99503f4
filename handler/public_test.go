package handler

import (
	"net/http/httptest"
	"testing"
)

func TestIsPublic(t *testing.T) {
	tests := []struct {
		method, target string
		want           bool
	}{
		{"GET", "/", true},
		{"HEAD", "/", true},
		{"GET", "/?x=1", true},
		{"POST", "/", false},
		{"DELETE", "/", false},
		{"GET", "//", false},
		{"GET", "/info", false},
		{"GET", "/events", false},
		{"HEAD", "/events", false},
		{"GET", "/storage/", false},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(tt.method, tt.target, nil)
		if got := isPublic(r); got != tt.want {
			t.Errorf("isPublic(%s %s) = %v, want %v", tt.method, tt.target, got, tt.want)
		}
	}
}
