# SPDX-License-Identifier: Apache-2.0
#
# The canonical form of `nft list table` output, for comparing kernel
# state (tests/netns/apply.sh, lib.sh's t_table): objects sorted by their
# header, each set's and map's elements one per line and sorted, every
# other line of an object as listed. Prints lines KEY \001 PART \001 SORT
# \001 TEXT; the caller sorts them (LC_ALL=C sort) and keeps field 4.
# KEY is the object's header; within one object PART 1 is its lines
# before the elements (in listed order), 2 its elements (sorted), 3 the
# lines after.
function emit(part, key, text) {
	printf "%s\001%d\001%s\001%s\n", obj, part, key, text
}
function seq() { return sprintf("%08d", ++nline) }
# Splits element text at top-level commas (not inside a comment);
# returns 1 when the closing brace of the set was seen.
function elems(text,    i, c) {
	for (i = 1; i <= length(text); i++) {
		c = substr(text, i, 1)
		if (c == "\"" && !(q && substr(text, i - 1, 1) == "\\"))
			q = !q
		if (!q && c == "}") {
			put(cur)
			return 1
		}
		if (!q && c == ",") {
			put(cur)
			cur = ""
		} else {
			cur = cur c
		}
	}
	return 0
}
function put(e) {
	gsub(/^[ \t]+|[ \t]+$/, "", e)
	if (e != "")
		emit(2, e, "\t\t\t" e)
}
inel {
	if (elems($0))
		inel = 0
	next
}
/^\t[a-z]/ && !obj { obj = $0; emit(0, "", $0); part = 1; next }
obj && /^\t\telements = \{/ {
	emit(part, seq(), "\t\telements = {")
	part = 3
	q = 0
	cur = ""
	inel = !elems(substr($0, index($0, "{") + 1))
	next
}
# The verdict cache's generation is history, not state: a table updated
# from A to B carries a later generation than B loaded alone, by design
# (docs/DATAPATH.md, "The verdict cache"). Only the generation of the two
# rule shapes that carry it is set aside; the mask stays compared, and
# apply.sh checks how the generation moves.
obj && /^\t\tct mark & 0x[0-9a-f]+ == 0x[0-9a-f]+ accept$/ {
	sub(/== 0x[0-9a-f]+ accept$/, "== GEN accept")
}
obj && /^\t\tct mark set ct mark & 0x[0-9a-f]+ \| 0x[0-9a-f]+$/ {
	$0 = "\t\tct mark set ct mark & KEEP | GEN"
}
obj && /^\t}$/ { emit(3, seq(), $0); obj = ""; next }
obj { emit(part, seq(), $0); next }
/^$/ { next }
{ obj = "\002"; emit(0, seq(), $0); obj = "" }
