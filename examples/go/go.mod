module libapf.org/apf-examples

go 1.19

require libapf.org/apf v0.0.0

replace libapf.org/apf => ../../bindings/go
