package resourcemeta_test

import (
	"strings"
	"testing"

	"github.com/bearerguard/bearerguard/resourcemeta"
)

// resourcemeta quotes a refused resource whole (query values included)
// for the refusals past httpfetch.CheckURL: an empty fragment, a
// backslash, a dot segment, an empty path segment, a non-ASCII host.
func TestRefusedResourceErrorsHideQuery(t *testing.T) {
	for _, raw := range []string{
		"https://api.example.com/v1?api_key=RES-KEY-s3cr3t#",
		"https://api.example.com/a/../v1?api_key=RES-KEY-s3cr3t",
		"https://api.example.com//v1?api_key=RES-KEY-s3cr3t",
	} {
		_, err := resourcemeta.WellKnownURL(raw)
		if err == nil {
			t.Fatalf("%s accepted", raw)
		}
		if strings.Contains(err.Error(), "RES-KEY-s3cr3t") {
			t.Errorf("WellKnownURL's error shows the query value: %v", err)
		}
		_, err = resourcemeta.New(raw)
		if err != nil && strings.Contains(err.Error(), "RES-KEY-s3cr3t") {
			t.Errorf("New's error shows the query value: %v", err)
		}
	}
}
