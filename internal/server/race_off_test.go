//go:build !race

package server

const raceAllocSlack = 0
