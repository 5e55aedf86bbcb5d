module libapf.org/apf

go 1.19
