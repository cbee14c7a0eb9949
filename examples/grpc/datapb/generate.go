// Package datapb is the Go code generated from data.proto, the example
// service bearerguard.example.v1.Data. The generated files are committed,
// so building and testing need no protoc. To regenerate them, from
// examples/grpc, with protoc (apt-get install -y protobuf-compiler) and the
// two plugins on PATH:
//
//	go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
//	go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2
//	go generate ./datapb
package datapb

//go:generate protoc --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative data.proto
