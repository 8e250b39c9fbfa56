package safetensors.conformance.jlama;

import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.ValueInstantiationException;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.github.tjake.jlama.safetensors.SafeTensorSupport;
import com.github.tjake.jlama.safetensors.TensorInfo;
import com.github.tjake.jlama.safetensors.Weights;
import java.io.BufferedReader;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/**
 * Conformance adapter around Jlama's safetensors reader ({@code com.github.tjake:jlama-core}).
 *
 * <p>Long-lived mode (no arguments): NDJSON requests on stdin, responses on stdout. One-shot
 * mode: {@code start} or {@code read FILE}, one response line each.
 *
 * <p>Reading maps the file read-only and calls {@code SafeTensorSupport.readWeights}, which
 * parses the header ({@code readTensorInfoMap}) and wraps the data section in a {@code Weights}.
 * Its {@code metadata()} and {@code tensorInfoMap()} are what is reported. {@code Weights}
 * exposes tensors only converted to Jlama's compute types ({@code load}), never their raw bytes,
 * so each tensor is hashed from the file at the offsets Jlama returned. Jlama has no writer
 * usable without a model directory: {@code write} is not declared.
 */
public final class JlamaAdapter {

    /** The spec's tags that Jlama's {@code DType} enum knows (it adds its own Q4 and Q5). */
    private static final List<String> DTYPES =
            List.of(
                    "BOOL", "U8", "I8", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "F64",
                    "I64", "U64");

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    /** One read buffer for every tensor hashed (the adapter answers one request at a time). */
    private static final ByteBuffer CHUNK = ByteBuffer.allocate(1 << 20);

    private JlamaAdapter() {}

    /** A request the adapter could not carry out, not the library's verdict: a crash. */
    private static final class AdapterFailure extends Exception {
        private static final long serialVersionUID = 1L;

        AdapterFailure(String message) {
            super(message);
        }
    }

    private static ObjectNode result(String result) {
        ObjectNode o = NODES.objectNode();
        o.put("result", result);
        return o;
    }

    private static ObjectNode errored(String message) {
        ObjectNode o = result("errored");
        o.put("message", message);
        return o;
    }

    private static ObjectNode rejected(String stage, String code, String message) {
        ObjectNode error = NODES.objectNode();
        if (code != null) {
            error.put("code", code);
        }
        error.put("stage", stage);
        error.put("message", message);
        ObjectNode o = result("rejected");
        o.set("error", error);
        return o;
    }

    /** The exception and its causes: Jlama wraps Jackson's error in a RuntimeException. */
    private static String describe(Throwable t) {
        StringBuilder text = new StringBuilder(t.toString());
        for (Throwable cause = t.getCause(); cause != null; cause = cause.getCause()) {
            text.append(" (caused by ").append(cause).append(')');
        }
        return text.toString();
    }

    /**
     * How Jlama's exceptions read. Its own {@code IllegalArgumentException}s on the length prefix
     * ("Header length cannot be negative", "... exceeds the maximum allowed length") are refusals
     * of the prefix. A {@code RuntimeException} wrapping one of Jackson's exceptions is Jlama
     * refusing the header: Jackson's parse errors are the syntax stage (its "Invalid UTF-8"
     * errors the encoding stage), its mapping errors the structure stage, except a value
     * instantiation that failed on something other than Guava's {@code Ints.checkedCast}
     * range check (a {@code NullPointerException} in {@code TensorInfo}'s constructor), which is a
     * crash. Everything else ({@code BufferUnderflowException} on a short file,
     * {@code NullPointerException}, {@code OutOfMemoryError}, ...) escapes Jlama unplanned and is
     * answered {@code errored}, which the harness counts as a crash.
     */
    private static ObjectNode refusal(Throwable e) {
        String text = describe(e);
        boolean thrownByJlama =
                e.getStackTrace().length > 0
                        && e.getStackTrace()[0].getClassName().startsWith("com.github.tjake.jlama.");
        if (e instanceof IllegalArgumentException && thrownByJlama) {
            String message = String.valueOf(e.getMessage());
            if (message.startsWith("Header length")) {
                return rejected(
                        "prefix", message.contains("exceeds the maximum") ? "header_too_large" : null, text);
            }
        }
        if (e.getClass() == RuntimeException.class && e.getCause() instanceof JsonProcessingException cause) {
            if (cause instanceof ValueInstantiationException) {
                return cause.getCause() instanceof IllegalArgumentException
                        ? rejected("structure", null, text)
                        : errored("Jlama threw " + text);
            }
            if (cause instanceof JsonParseException) {
                String message = String.valueOf(cause.getOriginalMessage());
                return message.startsWith("Invalid UTF-8")
                        ? rejected("encoding", "header_invalid_utf8", text)
                        : rejected("syntax", null, text);
            }
            if (cause instanceof StreamConstraintsException) {
                String message = String.valueOf(cause.getOriginalMessage());
                return rejected(message.contains("nesting depth") ? "syntax" : "structure", null, text);
            }
            return rejected("structure", null, text);
        }
        return errored("Jlama threw " + text);
    }

    /** SHA-256 of {@code length} bytes of the file from {@code start}, in 1 MiB reads. */
    private static String sha256(FileChannel file, long start, long length) throws IOException {
        MessageDigest digest;
        try {
            digest = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
        ByteBuffer chunk = CHUNK;
        long done = 0;
        while (done < length) {
            chunk.clear().limit((int) Math.min(chunk.capacity(), length - done));
            int n = file.read(chunk, start + done);
            if (n < 0) {
                throw new IOException("unexpected end of file at " + (start + done));
            }
            digest.update(chunk.array(), 0, n);
            done += n;
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    static ObjectNode read(String path) throws AdapterFailure {
        try (FileChannel file = FileChannel.open(Path.of(path), StandardOpenOption.READ)) {
            long size = file.size();
            // Jlama's loaders map the file read-only and hand the ByteBuffer to its reader; one
            // ByteBuffer holds at most 2^31-1 bytes, so a larger file is mapped up to that.
            ByteBuffer buffer = file.map(FileChannel.MapMode.READ_ONLY, 0, Math.min(size, Integer.MAX_VALUE));
            Weights weights;
            try {
                weights = SafeTensorSupport.readWeights(buffer);
            } catch (RuntimeException | StackOverflowError | OutOfMemoryError e) {
                return refusal(e);
            }
            // readWeights slices the data section right after the 8-byte prefix and the header
            // it read: the offsets it returned are relative to 8 + N.
            long headerLength = buffer.duplicate().order(ByteOrder.LITTLE_ENDIAN).getLong(0);
            long dataStart = 8 + headerLength;
            long dataLength = size - dataStart;
            Map<String, String> metadata = weights.metadata();
            String problem = null;
            ArrayNode tensors = NODES.arrayNode();
            for (Map.Entry<String, TensorInfo> entry : weights.tensorInfoMap().entrySet()) {
                String name = entry.getKey();
                TensorInfo info = entry.getValue();
                if (info.dType == null) {
                    problem = "tensor \"" + name + "\": dtype is null";
                } else if (info.shape == null || Arrays.stream(info.shape).anyMatch(d -> d < 0)) {
                    problem = "tensor \"" + name + "\": shape " + Arrays.toString(info.shape) + " is not a list of u64";
                } else if (info.dataOffsets == null
                        || info.dataOffsets.length != 2
                        || info.dataOffsets[0] < 0
                        || info.dataOffsets[0] > info.dataOffsets[1]
                        || info.dataOffsets[1] > dataLength) {
                    problem = "tensor \"" + name + "\": data_offsets " + Arrays.toString(info.dataOffsets)
                            + " are not a range of the " + dataLength + " data bytes, so there are no bytes to hash";
                }
                if (problem != null) {
                    break;
                }
                ObjectNode tensor = tensors.addObject();
                tensor.put("name", name);
                tensor.put("dtype", info.dType.name());
                ArrayNode shape = tensor.putArray("shape");
                for (int dim : info.shape) {
                    shape.add(dim);
                }
                long begin = info.dataOffsets[0];
                tensor.putArray("dataOffsets").add(begin).add(info.dataOffsets[1]);
                tensor.put("sha256", sha256(file, dataStart + begin, info.dataOffsets[1] - begin));
            }
            if (problem != null) {
                ObjectNode raw = NODES.objectNode();
                raw.set("metadata", JSON.valueToTree(metadata));
                ObjectNode rawTensors = raw.putObject("tensors");
                for (Map.Entry<String, TensorInfo> entry : weights.tensorInfoMap().entrySet()) {
                    TensorInfo info = entry.getValue();
                    ObjectNode rawTensor = rawTensors.putObject(entry.getKey());
                    rawTensor.put("dtype", info.dType == null ? null : info.dType.name());
                    rawTensor.set("shape", JSON.valueToTree(info.shape));
                    rawTensor.set("data_offsets", JSON.valueToTree(info.dataOffsets));
                }
                ObjectNode o = result("accepted");
                o.put("unrepresentable", problem);
                o.set("raw", raw);
                return o;
            }
            // Weights.metadata() is an empty map when the file has no __metadata__: Jlama does
            // not tell absent metadata from empty metadata, and the adapter reports what it says.
            ObjectNode header = NODES.objectNode();
            header.set("metadata", JSON.valueToTree(metadata));
            header.set("tensors", tensors);
            ObjectNode o = result("accepted");
            o.set("header", header);
            return o;
        } catch (IOException e) {
            throw new AdapterFailure("cannot read " + path + ": " + e);
        }
    }

    static ObjectNode started() {
        ObjectNode o = result("started");
        o.put("protocolVersion", 1);
        ObjectNode implementation = o.putObject("implementation");
        implementation.put("name", "com.github.tjake:jlama-core");
        Package jlama = SafeTensorSupport.class.getPackage();
        String version = jlama == null ? null : jlama.getImplementationVersion();
        implementation.put("version", version != null ? version : jarVersion());
        implementation.put("language", "java");
        implementation.put("homepage", "https://github.com/tjake/Jlama");
        implementation.put("issues", "https://github.com/tjake/Jlama/issues");
        implementation.put("codebase", "tjake/Jlama");
        ObjectNode capabilities = o.putObject("capabilities");
        capabilities.put("read", true);
        capabilities.put("write", false);
        capabilities.set("dtypes", JSON.valueToTree(DTYPES));
        capabilities.set("specVersions", JSON.valueToTree(List.of("1.0.0")));
        capabilities.put("errors", "stages");
        ObjectNode choices = o.putObject("choices");
        // The data section is never compared with the offsets.
        choices.put("trailing_bytes", "ignore");
        // Jlama's cap is 2^30 bytes, which is neither option: the default is declared.
        choices.put("max_header_length", "100000000");
        return o;
    }

    /** The version of the jlama-core jar loaded, from its file name in target/lib. */
    private static String jarVersion() {
        String location = String.valueOf(SafeTensorSupport.class.getProtectionDomain().getCodeSource().getLocation());
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("jlama-core-([^/]+)\\.jar$").matcher(location);
        return m.find() ? m.group(1) : "unknown";
    }

    static ObjectNode handle(JsonNode request) {
        try {
            JsonNode cmd = request.get("cmd");
            switch (cmd == null || !cmd.isTextual() ? "" : cmd.asText()) {
                case "start":
                    return started();
                case "shutdown":
                    return result("bye");
                case "read":
                    JsonNode path = request.get("path");
                    if (path == null || !path.isTextual()) {
                        throw new AdapterFailure("request lacks path");
                    }
                    return read(path.asText());
                default:
                    throw new AdapterFailure("unknown command " + cmd);
            }
        } catch (AdapterFailure e) {
            return errored(e.getMessage());
        } catch (RuntimeException | OutOfMemoryError | StackOverflowError e) {
            return errored("adapter failure: " + describe(e));
        }
    }

    /**
     * One line of JSON. A Java string can hold a lone surrogate (a name Jackson decoded from a
     * {@code \ud800} escape), which UTF-8 cannot: it is written as its escape, so the harness
     * sees what Jlama returned rather than a replacement character.
     */
    static String line(ObjectNode o) throws JsonProcessingException {
        String text = JSON.writeValueAsString(o);
        StringBuilder out = new StringBuilder(text.length());
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            boolean paired =
                    Character.isHighSurrogate(c)
                                    && i + 1 < text.length()
                                    && Character.isLowSurrogate(text.charAt(i + 1))
                            || Character.isLowSurrogate(c)
                                    && i > 0
                                    && Character.isHighSurrogate(text.charAt(i - 1));
            if (Character.isSurrogate(c) && !paired) {
                out.append(String.format("\\u%04x", (int) c));
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }

    public static void main(String[] args) throws IOException {
        PrintStream out = new PrintStream(new FileOutputStream(FileDescriptor.out), false, StandardCharsets.UTF_8);
        if (args.length > 0) {
            ObjectNode request = NODES.objectNode();
            if (args.length == 1 && args[0].equals("start")) {
                request.put("cmd", "start");
            } else if (args.length == 2 && args[0].equals("read")) {
                request.put("cmd", "read");
                request.put("path", args[1]);
            } else {
                System.err.println("usage: run [start | read FILE]");
                System.exit(2);
            }
            out.println(line(handle(request)));
            out.flush();
            return;
        }
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        for (String text = in.readLine(); text != null; text = in.readLine()) {
            if (text.isBlank()) {
                continue;
            }
            JsonNode request;
            ObjectNode response;
            try {
                request = JSON.readTree(text);
                response = handle(request);
            } catch (IOException | RuntimeException e) {
                request = NODES.objectNode();
                response = errored("request is not JSON: " + describe(e));
            }
            JsonNode seq = request.get("seq");
            if (seq != null && !seq.isNull()) {
                response.set("seq", seq);
            }
            out.println(line(response));
            out.flush();
            if (response.get("result").asText().equals("bye")) {
                break;
            }
        }
    }
}
