package main

import (
	"testing"

	"github.com/bearerguard/bearerguard/examples/exampletest"
	"github.com/bearerguard/bearerguard/examples/nethttp/api"
)

func TestContract(t *testing.T) { exampletest.Run(t, api.New) }

func TestResourceMetadata(t *testing.T) { exampletest.Metadata(t, api.New) }

func TestIntrospectionOnly(t *testing.T) { exampletest.IntrospectionOnly(t, api.New) }
