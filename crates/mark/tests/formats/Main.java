package sample;

import java.util.List;

/** The sample. */
public class Main {
    static final String BLOCK = """
        first

        // not a comment

        last
        """;
    static final char QUOTE = '"';
@FILLER@
    public static void main(String[] args) {
        System.out.println(BLOCK + QUOTE + List.of(1, 2));
    }
}
