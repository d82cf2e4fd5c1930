//! Native Erlang distribution client: EPMD, handshake, term codec, rex calls, IO server.
