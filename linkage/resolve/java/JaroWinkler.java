package guanlian.spark;

import org.apache.spark.sql.api.java.UDF2;

/**
 * Jaro-Winkler similarity as DuckDB's jaro_winkler_similarity computes it, for the Spark
 * engine (linkage/resolve/spark.py builds this file into a jar and registers it as the
 * session's jaro_winkler, the name Splink's Spark SQL calls).
 *
 * The definition, on the strings' Unicode code points:
 * - either empty: 0 (both empty too); both of one code point: 1 if equal, else 0;
 * - matching window: half the longer length, minus one; the longer string's code points
 *   beyond the shorter length plus the window can match nothing and are skipped;
 * - each code point of the first string matches the first unmatched equal code point of
 *   the second within the window; transpositions are half the matched pairs out of order;
 * - Jaro = (m / len1 + m / len2 + (m - t) / m) / 3, summed in that order;
 * - above 0.7, the common prefix (at most 4) adds prefix * 0.1 * (1 - Jaro), as one fused
 *   multiply-add (one rounding), as DuckDB's build computes it.
 * Null in, null out. The arithmetic and its order are DuckDB's, so the result is equal to
 * the last bit (tests/linkage/test_link_spark.py compares them); rapidfuzz's differs in the
 * last bit on about a fifth of random pairs.
 */
public final class JaroWinkler implements UDF2<String, String, Double> {
    private static final long serialVersionUID = 1L;
    private static final double PREFIX_WEIGHT = 0.1;
    private static final double BOOST_ABOVE = 0.7;
    private static final int MAX_PREFIX = 4;

    @Override
    public Double call(String left, String right) {
        if (left == null || right == null) {
            return null;
        }
        return similarity(left.codePoints().toArray(), right.codePoints().toArray());
    }

    static double similarity(int[] a, int[] b) {
        int shorter = Math.min(a.length, b.length);
        int limit = Math.min(shorter, MAX_PREFIX);
        int prefix = 0;
        while (prefix < limit && a[prefix] == b[prefix]) {
            prefix++;
        }
        double sim = jaro(a, b);
        if (sim > BOOST_ABOVE) {
            sim = Math.min(Math.fma(prefix * PREFIX_WEIGHT, 1.0 - sim, sim), 1.0);
        }
        return sim;
    }

    static double jaro(int[] a, int[] b) {
        int lenA = a.length;
        int lenB = b.length;
        if (lenA == 0 || lenB == 0) {
            return 0.0;
        }
        if (lenA == 1 && lenB == 1) {
            return a[0] == b[0] ? 1.0 : 0.0;
        }
        int window = Math.max(lenA, lenB) / 2 - 1;
        // code points of the longer string past the shorter one's reach can match nothing
        int usedA = Math.min(lenA, lenB + window);
        int usedB = Math.min(lenB, lenA + window);
        boolean[] takenB = new boolean[lenB];
        boolean[] matchedA = new boolean[lenA];
        int matches = 0;
        for (int i = 0; i < usedA; i++) {
            int from = Math.max(0, i - window);
            int to = Math.min(i + window, usedB - 1);
            for (int j = from; j <= to; j++) {
                if (!takenB[j] && b[j] == a[i]) {
                    takenB[j] = true;
                    matchedA[i] = true;
                    matches++;
                    break;
                }
            }
        }
        if (matches == 0) {
            return 0.0;
        }
        int outOfOrder = 0;
        int next = 0;
        for (int i = 0; i < usedA; i++) {
            if (!matchedA[i]) {
                continue;
            }
            while (!takenB[next]) {
                next++;
            }
            if (a[i] != b[next]) {
                outOfOrder++;
            }
            next++;
        }
        int transpositions = outOfOrder / 2;
        double sim = 0.0;
        sim += (double) matches / lenA;
        sim += (double) matches / lenB;
        sim += (double) (matches - transpositions) / matches;
        return sim / 3.0;
    }
}
