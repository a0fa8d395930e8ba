#!/bin/sh
# rpu-train contract tests (stub until they land).
exit 0
