# Flattens spec/vectors/link.json into lines for the C and Kotlin tests (no JSON parser there):
#   framing <mtu> <name> / f <fragment> <expect> ... / end <message>
#   message <request|answer> <hex> <expect>
#   transcript <name> <mtu> <holder seed> <device key> <log from> <answer timeout> <retries> <grant> <certificate>
#   up <at_ms> <hex> | down <at_ms> <delivered 0|1> <hex> | reconnect <at_ms> / expect <code> <log records> <receipt 0|1>
# An empty byte string or an absent value is "-".
def h: if . == null or . == "" then "-" else . end;
(.framing[] | "framing \(.mtu) \(.name)",
    ([.fragments, .expect] | transpose[] | "f \(.[0] | h) \(.[1])"),
    "end \(.message | h)"),
(.messages[] | "message \(.direction) \(.hex | h) \(.expect)"),
(.transcripts[] |
    "transcript \(.name) \(.mtu) \(.holder_seed) \(.device_key | h) \(.log_from | h) \(.answer_timeout_ms) \(.max_retries) \(.grant) \(.certificate)",
    (.steps[] | if .dir == "up" then "up \(.at_ms) \(.hex | h)"
                elif .dir == "down" then "down \(.at_ms) \(if .delivered then 1 else 0 end) \(.hex | h)"
                else "reconnect \(.at_ms)" end),
    "expect \(.expect.code) \(.expect.log_records) \(if .expect.receipt then 1 else 0 end)")
