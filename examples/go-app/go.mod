module example.com/go-app

go 1.27

require example.com/greeting v1.0.0
