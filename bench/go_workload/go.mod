module tlstap.bench/go_workload

go 1.17
