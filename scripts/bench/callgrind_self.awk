# Self (exclusive) instructions per function of one callgrind dump (scripts/bench/network.sh,
# PROFILE=1). callgrind_annotate 3.19 charges a dump taken by callgrind_control to `clone`; this
# reads the format directly: every cost line counts toward the current fn= except the line right
# after calls=, which is that call's inclusive cost. Needs --compress-strings=no dumps.
/^fn=/ { fn = substr($0, 4); next }
/^calls=/ { skip = 1; next }
/^[0-9+-]/ { if (skip) { skip = 0; next } self[fn] += $2; total += $2; next }
END { for (f in self) if (self[f] > 0) printf "%d\t%.1f\t%s\n", self[f], 100 * self[f] / total, f }
