// Package discovery fetches authorization server metadata: OpenID Connect
// Discovery 1.0 (/.well-known/openid-configuration) and RFC 8414
// (/.well-known/oauth-authorization-server), with the document's "issuer"
// required to equal the configured issuer exactly (RFC 8414 §3.3,
// OIDC Discovery §4.3).
package discovery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/bearerguard/bearerguard/internal/httpfetch"
)

// Metadata holds the members of a discovery document this module uses.
type Metadata struct {
	Issuer                string `json:"issuer"`
	JWKSURI               string `json:"jwks_uri"`
	TokenEndpoint         string `json:"token_endpoint"`
	IntrospectionEndpoint string `json:"introspection_endpoint"`
	RevocationEndpoint    string `json:"revocation_endpoint"`
	// MTLSEndpointAliases is the raw "mtls_endpoint_aliases" member: the
	// endpoints for clients that authenticate with a certificate (RFC 8705
	// §5). Kept raw, so that a server writing it in another shape spoils
	// nothing for the clients that never read it; see MTLSIntrospection.
	MTLSEndpointAliases json.RawMessage `json:"mtls_endpoint_aliases"`
}

// MTLSIntrospection returns the mTLS alias of the introspection endpoint,
// or "" when the document names none; a member of another shape is an
// error.
func (md *Metadata) MTLSIntrospection() (string, error) {
	if len(md.MTLSEndpointAliases) == 0 || string(md.MTLSEndpointAliases) == "null" {
		return "", nil
	}
	var aliases struct {
		IntrospectionEndpoint string `json:"introspection_endpoint"`
	}
	if err := json.Unmarshal(md.MTLSEndpointAliases, &aliases); err != nil {
		return "", errors.New("discovery document: mtls_endpoint_aliases is not an object of strings")
	}
	return aliases.IntrospectionEndpoint, nil
}

// ErrIssuerMismatch reports a document whose "issuer" differs from the
// configured one.
var ErrIssuerMismatch = errors.New("discovery document issuer does not match the configured issuer")

// URLs returns the metadata URLs to try for issuer, in order. For an issuer
// with a path component both forms are tried: the OIDC form appends the
// well-known suffix to the path, RFC 8414 §3.1 inserts it before the path.
func URLs(issuer string, allowLoopbackHTTP bool) ([]string, error) {
	u, err := httpfetch.CheckURL(issuer, allowLoopbackHTTP)
	if err != nil {
		return nil, err
	}
	if u.RawQuery != "" {
		return nil, errors.New("issuer URL must not have a query")
	}
	base := u.Scheme + "://" + u.Host
	path := strings.TrimSuffix(u.EscapedPath(), "/")
	const oidc, oauth = "/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"
	if path == "" {
		return []string{base + oidc, base + oauth}, nil
	}
	return []string{
		base + path + oidc,  // OIDC Discovery §4
		base + oauth + path, // RFC 8414 §3.1
		base + path + oauth, // appended form some servers use
		base + oidc + path,  // inserted OIDC form (RFC 8414 §5)
	}, nil
}

// Fetch tries each of issuer's metadata URLs and returns the first document
// whose "issuer" matches exactly. It fails with every attempt's error.
func Fetch(ctx context.Context, client *http.Client, issuer string, allowLoopbackHTTP bool, limit int64) (*Metadata, error) {
	urls, err := URLs(issuer, allowLoopbackHTTP)
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, u := range urls {
		md, err := fetchOne(ctx, client, u, limit)
		if err == nil && md.Issuer != issuer {
			err = fmt.Errorf("%w (got %q)", ErrIssuerMismatch, httpfetch.Truncate(md.Issuer, 100))
		}
		if err == nil {
			return md, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", u, err))
		if ctx.Err() != nil {
			break
		}
	}
	return nil, fmt.Errorf("discovery for %s failed: %w", issuer, errors.Join(errs...))
}

func fetchOne(ctx context.Context, client *http.Client, url string, limit int64) (*Metadata, error) {
	resp, err := httpfetch.Get(ctx, client, url, "application/json", nil, limit)
	if err != nil {
		return nil, err
	}
	var md Metadata
	if err := json.Unmarshal(resp.Body, &md); err != nil {
		return nil, errors.New("discovery document is not a JSON object")
	}
	return &md, nil
}
