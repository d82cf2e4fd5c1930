//! The launch plan per command: pure computation of what to run, with which argv and env.
