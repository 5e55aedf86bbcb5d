// Package capi is the SWIG-generated layer under package apf. Do not use it
// directly: its functions take raw handles and report errors as status codes.
package capi

//go:generate swig -go -cgo -intgosize 64 -I../../../shim -I../../../../include -o capi_wrap.c -outdir . capi.i
