package safetensors.conformance.djl;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.util.passthrough.PassthroughNDManager;
import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import java.io.BufferedInputStream;
import java.io.BufferedReader;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.RandomAccessFile;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;

/**
 * Conformance adapter around DJL's safetensors codec ({@code ai.djl:api}), without an engine.
 *
 * <p>Long-lived mode (no arguments): NDJSON requests on stdin, responses on stdout. One-shot
 * mode: {@code start}, {@code read FILE} or {@code write REQUEST.json}, one response line each.
 *
 * <p>Reading calls {@code NDList.decode(PassthroughNDManager.INSTANCE, InputStream)}, DJL's
 * engine-independent decoder, which sniffs the format and reads safetensors when byte 8 is
 * {@code '{'}. Each array's name, {@code DataType.asSafetensors()}, shape and buffer are what is
 * reported. Writing builds arrays with {@code PassthroughNDManager.create} and calls
 * {@code NDList.encode(Encoding.SAFETENSORS)}. DJL reads no {@code __metadata__} and writes none.
 */
public final class DjlAdapter {

    /** The 22 tags of the spec: a tag DJL refuses among them is one it lacks (skipped). */
    private static final List<String> SPEC_DTYPES =
            List.of(
                    "BOOL", "F4", "F6_E2M3", "F6_E3M2", "U8", "I8", "F8_E5M2", "F8_E4M3",
                    "F8_E8M0", "F8_E4M3FNUZ", "F8_E5M2FNUZ", "I16", "U16", "F16", "BF16", "I32",
                    "U32", "F32", "C64", "F64", "I64", "U64");

    /** The tags {@code DataType.fromSafetensors} knows. */
    private static final List<String> DJL_DTYPES =
            List.of("F64", "F32", "F16", "BF16", "I64", "I32", "I8", "U8", "BOOL");

    private static final String UNSUPPORTED_DTYPE = "Unsupported safetensors dataType: ";

    /** Compact, exact for big integers, {@code null} kept, no HTML escaping. */
    private static final Gson GSON = new GsonBuilder().serializeNulls().disableHtmlEscaping().create();

    private DjlAdapter() {}

    /** A request the adapter could not carry out, not the library's verdict: a crash. */
    private static final class AdapterFailure extends Exception {
        private static final long serialVersionUID = 1L;

        AdapterFailure(String message) {
            super(message);
        }
    }

    private static JsonObject result(String result) {
        JsonObject o = new JsonObject();
        o.addProperty("result", result);
        return o;
    }

    private static JsonObject withMessage(String result, String message) {
        JsonObject o = result(result);
        o.addProperty("message", message);
        return o;
    }

    private static JsonObject rejected(String message) {
        JsonObject error = new JsonObject();
        error.addProperty("message", message);
        JsonObject o = result("rejected");
        o.add("error", error);
        return o;
    }

    /** The exception and its causes, as DJL wraps the I/O error in "Malformed data". */
    private static String describe(Throwable t) {
        StringBuilder text = new StringBuilder(t.toString());
        for (Throwable cause = t.getCause(); cause != null; cause = cause.getCause()) {
            text.append(" (caused by ").append(cause).append(')');
        }
        return text.toString();
    }

    /**
     * How DJL's exceptions read: Gson's parse errors and the {@code IllegalArgumentException}s
     * that DJL throws itself are refusals; an {@code IllegalArgumentException} thrown inside the
     * JDK, and every other exception ({@code ArithmeticException} from {@code Math.toIntExact},
     * {@code IndexOutOfBoundsException}, {@code NullPointerException}, ...), is a crash. A tag
     * of the spec that DJL has no {@code DataType} for is skipped.
     */
    private static JsonObject refusal(RuntimeException e) {
        String message = e.getMessage();
        if (message != null && message.startsWith(UNSUPPORTED_DTYPE)) {
            String tag = message.substring(UNSUPPORTED_DTYPE.length());
            if (SPEC_DTYPES.contains(tag)) {
                return withMessage("skipped", "DJL has no DataType for " + tag + " (" + message + ")");
            }
        }
        boolean thrownByDjl =
                e.getStackTrace().length > 0
                        && e.getStackTrace()[0].getClassName().startsWith("ai.djl.");
        if (e instanceof JsonParseException || (e instanceof IllegalArgumentException && thrownByDjl)) {
            return rejected(describe(e));
        }
        return withMessage("errored", "DJL threw " + describe(e));
    }

    private static String sha256(byte[] bytes, int offset, int length) {
        try {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            digest.update(bytes, offset, length);
            return HexFormat.of().formatHex(digest.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    static JsonObject read(String path) throws AdapterFailure {
        NDList list;
        try (InputStream is = new BufferedInputStream(Files.newInputStream(Path.of(path)))) {
            list = NDList.decode(PassthroughNDManager.INSTANCE, is);
        } catch (IOException e) {
            throw new AdapterFailure("cannot open " + path + ": " + e);
        } catch (RuntimeException e) {
            return refusal(e);
        }
        JsonArray tensors = new JsonArray();
        boolean representable = true;
        for (NDArray array : list) {
            // The passthrough array holds DJL's own ByteBuffer.wrap(data, begin, end - begin) of
            // the data section, so position and limit are the data offsets DJL used.
            ByteBuffer bytes = array.toByteBuffer().duplicate();
            byte[] backing;
            int begin;
            if (bytes.hasArray()) {
                backing = bytes.array();
                begin = bytes.arrayOffset() + bytes.position();
            } else {
                backing = new byte[bytes.remaining()];
                bytes.duplicate().get(backing);
                begin = 0;
            }
            JsonObject tensor = new JsonObject();
            tensor.addProperty("name", array.getName());
            tensor.addProperty("dtype", array.getDataType().asSafetensors());
            JsonArray shape = new JsonArray();
            for (long dim : array.getShape().getShape()) {
                representable &= dim >= 0;
                shape.add(dim);
            }
            tensor.add("shape", shape);
            JsonArray offsets = new JsonArray();
            offsets.add(bytes.position());
            offsets.add(bytes.limit());
            tensor.add("dataOffsets", offsets);
            tensor.addProperty("sha256", sha256(backing, begin, bytes.remaining()));
            tensors.add(tensor);
        }
        if (!representable) {
            JsonObject o = result("accepted");
            o.addProperty("unrepresentable", "DJL returned a shape with a negative dimension");
            o.add("raw", tensors);
            return o;
        }
        // DJL skips the __metadata__ key while decoding: it exposes no metadata.
        JsonObject header = new JsonObject();
        header.add("metadata", JsonNull.INSTANCE);
        header.add("tensors", tensors);
        JsonObject o = result("accepted");
        o.add("header", header);
        return o;
    }

    private static JsonElement field(JsonObject o, String key) throws AdapterFailure {
        JsonElement value = o.get(key);
        if (value == null) {
            throw new AdapterFailure("request lacks " + key);
        }
        return value;
    }

    private static byte[] slice(JsonObject data) throws AdapterFailure {
        String source = field(data, "path").getAsString();
        long offset = field(data, "offset").getAsLong();
        int length = field(data, "length").getAsInt();
        byte[] bytes = new byte[length];
        try (RandomAccessFile file = new RandomAccessFile(source, "r")) {
            file.seek(offset);
            file.readFully(bytes);
        } catch (IOException e) {
            throw new AdapterFailure("cannot read " + length + " bytes of " + source + ": " + e);
        }
        return bytes;
    }

    static JsonObject write(JsonObject request) throws AdapterFailure {
        String path = field(request, "path").getAsString();
        if (!field(request, "metadata").isJsonNull()) {
            return withMessage("skipped", "NDList.encode writes no __metadata__");
        }
        NDList list = new NDList();
        for (JsonElement element : field(request, "tensors").getAsJsonArray()) {
            JsonObject spec = element.getAsJsonObject();
            String name = field(spec, "name").getAsString();
            String tag = field(spec, "dtype").getAsString();
            JsonArray dims = field(spec, "shape").getAsJsonArray();
            long[] shape = new long[dims.size()];
            for (int i = 0; i < shape.length; i++) {
                BigInteger dim = dims.get(i).getAsBigInteger();
                if (dim.bitLength() > 63) {
                    return withMessage("skipped", "DJL shapes are Java longs, which cannot hold " + dim);
                }
                shape[i] = dim.longValueExact();
            }
            byte[] bytes = slice(field(spec, "data").getAsJsonObject());
            try {
                DataType dataType = DataType.fromSafetensors(tag);
                NDArray array = PassthroughNDManager.INSTANCE.create(ByteBuffer.wrap(bytes), new Shape(shape), dataType);
                array.setName(name);
                list.add(array);
            } catch (RuntimeException e) {
                return refusal(e);
            }
        }
        byte[] encoded;
        try {
            encoded = list.encode(NDList.Encoding.SAFETENSORS);
        } catch (RuntimeException e) {
            return refusal(e);
        }
        try {
            Files.write(Path.of(path), encoded);
        } catch (IOException e) {
            throw new AdapterFailure("cannot write " + path + ": " + e);
        }
        return result("written");
    }

    static JsonObject started() {
        JsonObject implementation = new JsonObject();
        implementation.addProperty("name", "ai.djl:api");
        implementation.addProperty("version", Engine.getDjlVersion());
        implementation.addProperty("language", "java");
        implementation.addProperty("homepage", "https://djl.ai/");
        implementation.addProperty("issues", "https://github.com/deepjavalibrary/djl/issues");
        implementation.addProperty("codebase", "deepjavalibrary/djl");
        JsonObject capabilities = new JsonObject();
        capabilities.addProperty("read", true);
        capabilities.addProperty("write", true);
        capabilities.add("dtypes", GSON.toJsonTree(DJL_DTYPES));
        capabilities.add("specVersions", GSON.toJsonTree(List.of("1.0.0")));
        capabilities.addProperty("errors", "none");
        JsonObject choices = new JsonObject();
        // The decoder reads the data section only up to the largest end offset.
        choices.addProperty("trailing_bytes", "ignore");
        choices.addProperty("max_header_length", "100000000");
        JsonObject o = result("started");
        o.addProperty("protocolVersion", 1);
        o.add("implementation", implementation);
        o.add("capabilities", capabilities);
        o.add("choices", choices);
        return o;
    }

    static JsonObject handle(JsonObject request) {
        try {
            JsonElement cmd = request.get("cmd");
            switch (cmd == null || !cmd.isJsonPrimitive() ? "" : cmd.getAsString()) {
                case "start":
                    return started();
                case "shutdown":
                    return result("bye");
                case "read":
                    return read(field(request, "path").getAsString());
                case "write":
                    return write(request);
                default:
                    throw new AdapterFailure("unknown command " + cmd);
            }
        } catch (AdapterFailure e) {
            return withMessage("errored", e.getMessage());
        } catch (RuntimeException | OutOfMemoryError e) {
            return withMessage("errored", "adapter failure: " + describe(e));
        }
    }

    /**
     * One line of JSON. A Java string can hold a lone surrogate (a name DJL decoded from a
     * {@code \ud800} escape), which UTF-8 cannot: it is written as its escape, so the harness
     * sees what DJL returned rather than a replacement character.
     */
    static String line(JsonObject o) {
        String text = GSON.toJson(o);
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

    private static JsonObject oneShot(String[] args) throws IOException {
        JsonObject request = new JsonObject();
        if (args.length == 1 && args[0].equals("start")) {
            request.addProperty("cmd", "start");
        } else if (args.length == 2 && args[0].equals("read")) {
            request.addProperty("cmd", "read");
            request.addProperty("path", args[1]);
        } else if (args.length == 2 && args[0].equals("write")) {
            String text = Files.readString(Path.of(args[1]), StandardCharsets.UTF_8);
            request = JsonParser.parseString(text).getAsJsonObject();
        } else {
            return null;
        }
        return handle(request);
    }

    public static void main(String[] args) throws IOException {
        PrintStream out = new PrintStream(new FileOutputStream(FileDescriptor.out), false, StandardCharsets.UTF_8);
        if (args.length > 0) {
            JsonObject response = oneShot(args);
            if (response == null) {
                System.err.println("usage: run [start | read FILE | write REQUEST.json]");
                System.exit(2);
            }
            out.println(line(response));
            out.flush();
            return;
        }
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        for (String text = in.readLine(); text != null; text = in.readLine()) {
            if (text.isBlank()) {
                continue;
            }
            JsonObject request;
            JsonObject response;
            try {
                request = JsonParser.parseString(text).getAsJsonObject();
                response = handle(request);
            } catch (RuntimeException e) {
                request = new JsonObject();
                response = withMessage("errored", "request is not a JSON object: " + describe(e));
            }
            JsonElement seq = request.get("seq");
            if (seq != null && !seq.isJsonNull()) {
                response.add("seq", seq);
            }
            out.println(line(response));
            out.flush();
            if (response.get("result").getAsString().equals("bye")) {
                break;
            }
        }
    }
}
