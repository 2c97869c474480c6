/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/model/test_rev30_i12.c - issue 12's "a receipt signed before the
 * change verifies after": receipts signed by libchio before the kernel
 * wrote them from typed fields (commit fe5c3f3, the parent of a28bc9e,
 * which added the one-pass writer) are pinned here byte for byte. Each
 * must still parse and verify against its kernel key, and the one-pass
 * writer (chio__receipt_prepare_fields) must write the same bytes again
 * from the same fields and seed (Ed25519 signatures are deterministic).
 * test_receipt_fields.c compares the writer with today's builder; this
 * file compares it with what an older build actually stored, so a change
 * made to both paths at once cannot pass unnoticed.
 *
 * How the pins were made: the builder cases of receipt_cases.c went through
 * chio__receipt_prepare() at fe5c3f3 (seed OLD_SEED); the last one is a
 * receipt of `chio bench --threads 1 --calls 3 --durability sync
 * --seed-file F` at fe5c3f3 (seed BENCH_SEED), read back with `chio
 * receipt list`: a full evaluation of the echo tool through the kernel.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chio/chio.h"
#include "model.h"
#include "model/receipt_cases.h"

#define OLD_SEED   "0909090909090909090909090909090909090909090909090909090909090909"
#define BENCH_SEED "d42aeebb07cbdcacafe650f0d5d586020a4b5eb42743db1d05e24e8b9f61e97c"

/* The stored bytes fe5c3f3 gave for receipt_cases[i] (receipt_cases.h), in order. */
static const char *const stored_before[] = {
    /* allow */
    "{\"action\":{\"parameter_hash\":"
    "\"bf2b8f4b577df8402c520b01637ace50451916efa753afaff0ee255aed9ef"
    "e74\",\"parameters\":{\"path\":\"/w/"
    "a\"}},\"boundary_class\":\"prevent\",\"capability_id\":\"cap-\xc3"
    "\xa9"
    "-1\",\""
    "content_hash\":\"4062edaf750fb8074e7e83e0c9028c94e32468a8b6f1614774328ef045150f93\",\"decision"
    "\":{\"verdict\":\"allow\"},\"id\":"
    "\"5f3b2a41a6725bf919643eab4fb6b0fe3468ecbe94a63a4633b24a391856cd"
    "a0\",\"kernel_key\":\"fd1724385aa0c75b64fb78cd602fa1d991fdebf76b13c58ed702eac835e9f618\","
    "\"metad"
    "ata\":{\"receipt_context\":{\"request_id\":\"req-1\",\"session_id\":\"sess-1\"}},\"policy_"
    "hash\":\"polic"
    "y-1\",\"receipt_kind\":\"mediated_decision\",\"redaction_mode\":\"none\",\"signature\":"
    "\"2ee9add9b5c4f"
    "7c2d264fad20214ce1aeb186b7a72901d2044a1177d5868eca7d7d65c22b8c71a2d9fbadc6012c28f1f8a402da"
    "91019238e1f83ca99210f8a0b\",\"timestamp\":1710000123,\"tool_name\":\"read\",\"tool_origin\":"
    "\"caller"
    "_executed\",\"tool_server\":\"srv\",\"trust_level\":\"mediated\"}",
    /* allow, evidence, no output */
    "{\"action\":{\"parameter_hash\":"
    "\"44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaf"
    "f8a\",\"parameters\":{}},\"boundary_class\":\"prevent\",\"capability_id\":\"cap-\xc3"
    "\xa9"
    "-1\",\"content_hash\""
    ":\"74234e98afe7498fb5daf1f36ac2d78acc339464f950703b8c019892f982b90b\",\"decision\":{"
    "\"verdict\":"
    "\"allow\"},\"evidence\":[{\"details\":\"path "
    "allowed\",\"guard_name\":\"forbidden_path\",\"verdict\":tru"
    "e},{\"guard_name\":\"secret_leak\",\"verdict\":false},{\"details\":\"tab\\there\",\"guard_"
    "name\":\"custo"
    "m "
    "\\\"quoted\\\"\",\"verdict\":true}],\"id\":"
    "\"fac5d303e655ef6eff263be8a0252d57022af37343d09a7c1a06f"
    "8ab6c19d64f\",\"kernel_key\":\"fd1724385aa0c75b64fb78cd602fa1d991fdebf76b13c58ed702eac835e9f61"
    "8\",\"metadata\":{\"receipt_context\":{\"request_id\":\"req-1\",\"session_id\":\"sess-1\"}},"
    "\"policy_has"
    "h\":\"policy-1\",\"receipt_kind\":\"mediated_decision\",\"redaction_mode\":\"none\","
    "\"signature\":\"64c5"
    "98c81da3fe55a690d760133f6931ef79a4d980b378ae96e6f615489cee9e05977f961b57902255ac187fc9f3b7"
    "b469a860517aaf3324f1134a6a98480106\",\"timestamp\":1710000123,\"tool_name\":\"read\",\"tool_"
    "origin"
    "\":\"caller_executed\",\"tool_server\":\"srv\",\"trust_level\":\"mediated\"}",
    /* deny */
    "{\"action\":{\"parameter_hash\":"
    "\"11006ae39f09b1605487799d91b28fc328f01be8954034aaea1569b87a66a"
    "087\",\"parameters\":{\"path\":\"/etc/"
    "shadow\"}},\"boundary_class\":\"prevent\",\"capability_id\":\"cap-"
    "\xc3"
    "\xa9"
    "-1\",\"content_hash\":\"74234e98afe7498fb5daf1f36ac2d78acc339464f950703b8c019892f982b90b\",\"d"
    "ecision\":{\"guard\":\"forbidden_path\",\"reason\":\"path \\\"/etc\\\" is "
    "forbidden\\n\",\"verdict\":\"deny"
    "\"},\"evidence\":[{\"details\":\"path "
    "allowed\",\"guard_name\":\"forbidden_path\",\"verdict\":true},{\"g"
    "uard_name\":\"secret_leak\",\"verdict\":false}],\"id\":"
    "\"ef8755e752e235a47e7861a4834525dd54d8766d4"
    "b19d7e1d8fbe52ca67c559a\",\"kernel_key\":\"fd1724385aa0c75b64fb78cd602fa1d991fdebf76b13c58ed70"
    "2eac835e9f618\",\"metadata\":{\"receipt_context\":{\"request_id\":\"req-1\",\"session_id\":"
    "\"sess-1\"}}"
    ",\"policy_hash\":\"policy-1\",\"receipt_kind\":\"mediated_decision\",\"redaction_mode\":"
    "\"none\",\"sign"
    "ature\":\"e9ff5571ca1d3880f96eb31295a8572c35ab3397d1729083fa26205d0d1dc101d732d0371720644bde"
    "69aabc1afef45669641660e8762fdc86584f863929ae0e\",\"timestamp\":1710000123,\"tool_name\":"
    "\"read\","
    "\"tool_origin\":\"caller_executed\",\"tool_server\":\"srv\",\"trust_level\":\"mediated\"}",
    /* cancelled, nested */
    "{\"action\":{\"parameter_hash\":"
    "\"a615eeaee21de5179de080de8c3052c8da901138406ba71c38c032845f7d5"
    "4f4\",\"parameters\":[1,2,3]},\"boundary_class\":\"prevent\",\"capability_id\":\"cap-\xc3"
    "\xa9"
    "-1\",\"content_"
    "hash\":\"74234e98afe7498fb5daf1f36ac2d78acc339464f950703b8c019892f982b90b\",\"decision\":{"
    "\"reas"
    "on\":\"the host cancelled\",\"verdict\":\"cancelled\"},\"evidence\":[{\"details\":\"path "
    "allowed\",\"gua"
    "rd_name\":\"forbidden_path\",\"verdict\":true}],\"id\":"
    "\"a9a2a5e4fdb5417cc4395bfd41a0462397bc8ca7f"
    "8ed2f6f8dbe8a3eca140079\",\"kernel_key\":\"fd1724385aa0c75b64fb78cd602fa1d991fdebf76b13c58ed70"
    "2eac835e9f618\",\"metadata\":{\"receipt_context\":{\"parent_request_id\":\"parent-1\","
    "\"request_id\":"
    "\"req-1\",\"session_id\":\"sess-1\"}},\"policy_hash\":\"policy-1\",\"receipt_kind\":"
    "\"mediated_decision"
    "\",\"redaction_mode\":\"none\",\"signature\":"
    "\"0889299ebcb72046732a8b003ce5041e427a7d74d4068e61fc5"
    "9ef5b29cb82ff4d449fc6ea53f414cc9c66089282d9a20960272d0bec57dc9c6f700c56faa600\",\"timestamp\""
    ":1710000123,\"tool_name\":\"sample\",\"tool_origin\":\"caller_executed\",\"tool_server\":"
    "\"srv\",\"trus"
    "t_level\":\"mediated\"}",
    /* incomplete */
    "{\"action\":{\"parameter_hash\":"
    "\"ba2df4903a2c14e86dc3bcca58911b44ac1d2514b7227bf6eb08cfb978f55"
    "a1b\",\"parameters\":\"x\"},\"boundary_class\":\"prevent\",\"capability_id\":\"cap-\xc3"
    "\xa9"
    "-1\",\"content_hash"
    "\":\"2bfd14f43d17fc7cea24e0917a8879b4b2f880b8baeec1b9d90fbaad655e71bd\",\"decision\":{"
    "\"reason\":"
    "\"stream "
    "cut\",\"verdict\":\"incomplete\"},\"id\":\"59eb4a9fce09642a0f9e2b83d01414e5e5fa00b86ab3a70"
    "71e46a2136fa5c2d7\",\"kernel_key\":\"fd1724385aa0c75b64fb78cd602fa1d991fdebf76b13c58ed702eac83"
    "5e9f618\",\"metadata\":{\"receipt_context\":{\"request_id\":\"req-1\",\"session_id\":\"sess-"
    "1\"}},\"poli"
    "cy_hash\":\"policy-1\",\"receipt_kind\":\"mediated_decision\",\"redaction_mode\":\"none\","
    "\"signature\""
    ":\"edd2b254713893797805653ef1c42d66716b8126fa8025fddbcafd61285077c18dee65cdf4c2a29fdcdf01ae"
    "1fe5070f9cabbc77d57b1da7516e8f9303d34303\",\"timestamp\":1710000123,\"tool_name\":\"stream\","
    "\"too"
    "l_origin\":\"caller_executed\",\"tool_server\":\"srv\",\"trust_level\":\"mediated\"}",
    /* redacted */
    "{\"action\":{\"parameter_hash\":"
    "\"37c88ff8361f18fd7f7b9345bb47509eae4de4ce8633dc5f00d54da0233fd"
    "c10\",\"parameters\":{\"k\":\"[redacted]\"}},\"boundary_class\":\"prevent\",\"capability_id\":"
    "\"cap-\xc3"
    "\xa9"
    "-1"
    "\",\"content_hash\":\"74234e98afe7498fb5daf1f36ac2d78acc339464f950703b8c019892f982b90b\","
    "\"decis"
    "ion\":{\"guard\":\"secret_leak\",\"reason\":\"secret\",\"verdict\":\"deny\"},\"evidence\":[{"
    "\"details\":\"pa"
    "th "
    "allowed\",\"guard_name\":\"forbidden_path\",\"verdict\":true}],\"id\":"
    "\"48f1babbaa71a9c91e8074cc1"
    "a7624810df221ac026e87ef245dcc21979491aa\",\"kernel_key\":\"fd1724385aa0c75b64fb78cd602fa1d991f"
    "debf76b13c58ed702eac835e9f618\",\"metadata\":{\"receipt_context\":{\"request_id\":\"req-1\","
    "\"sessio"
    "n_id\":\"sess-1\"},\"redaction\":{\"guard\":\"secret_leak\",\"original_parameter_hash\":"
    "\"ab12ab12ab12"
    "ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12\",\"redacted_values\":2}},\"policy_"
    "hash\":"
    "\"policy-1\",\"receipt_kind\":\"mediated_decision\",\"redaction_mode\":\"redacted\","
    "\"signature\":\"e4a"
    "2b9de4bbb0003884577275c76a5ca3dc62072f064a863923602be4f465ebf5edfeb036efbadd93bc601ce4bef5"
    "4bcb11be16ef1a450d51315ee345346f904\",\"timestamp\":1710000123,\"tool_name\":\"read\",\"tool_"
    "origi"
    "n\":\"caller_executed\",\"tool_server\":\"srv\",\"trust_level\":\"mediated\"}",
    /* summary */
    "{\"action\":{\"parameter_hash\":"
    "\"5ceb16b2f73d233297300dd02cb8a5164a2777c4f8a3359947260a52cbd1c"
    "91a\",\"parameters\":{\"chio_omitted_arguments\":1}},\"boundary_class\":\"prevent\","
    "\"capability_id\""
    ":\"cap-\xc3"
    "\xa9"
    "-1\",\"content_hash\":\"74234e98afe7498fb5daf1f36ac2d78acc339464f950703b8c019892f982b9"
    "0b\",\"decision\":{\"guard\":\"arguments\",\"reason\":\"too "
    "deep\",\"verdict\":\"deny\"},\"id\":\"11cdf932be"
    "71acdfcf4db2f89f9f58e6669e09d46ce942bcdc4587958b49c301\",\"kernel_key\":\"fd1724385aa0c75b64fb"
    "78cd602fa1d991fdebf76b13c58ed702eac835e9f618\",\"metadata\":{\"receipt_context\":{\"request_"
    "id\":"
    "\"req-1\",\"session_id\":\"sess-1\"},\"redaction\":{\"original_parameter_hash\":"
    "\"cd34cd34cd34cd34cd3"
    "4cd34cd34cd34cd34cd34cd34cd34cd34cd34cd34cd34\",\"reason\":\"arguments too "
    "deep\"}},\"policy_has"
    "h\":\"policy-1\",\"receipt_kind\":\"mediated_decision\",\"redaction_mode\":\"summary\","
    "\"signature\":\"2"
    "cb89a7bfd15a67af64f0253d6bda66f1564d294662923be7c1e2811891bd3b690814292c3cc3aa54b58597422c"
    "2b680eca7a7a1784455f5c8fec0dbcf7de401\",\"timestamp\":1710000123,\"tool_name\":\"read\","
    "\"tool_ori"
    "gin\":\"caller_executed\",\"tool_server\":\"srv\",\"trust_level\":\"mediated\"}",
    /* unicode and controls */
    "{\"action\":{\"parameter_hash\":"
    "\"46b6c31f81bfc68c8a073c446038f21819b7adbb5051f2569a81178e2cc0b"
    "850\",\"parameters\":{\"\xc3"
    "\xa9"
    "\":\"\\u0000\"}},\"boundary_class\":\"prevent\",\"capability_id\":\"cap-\xc3"
    "\xa9"
    "-1\",\""
    "content_hash\":\"74234e98afe7498fb5daf1f36ac2d78acc339464f950703b8c019892f982b90b\",\"decision"
    "\":{\"guard\":\"g\xc3"
    "\xbc"
    "\",\"reason\":\"caf\xc3"
    "\xa9"
    " \xe2"
    "\x80"
    "\xae"
    "\\u0001\\u001f\",\"verdict\":\"deny\"},\"evidence\":[{\"details\""
    ":\"path "
    "allowed\",\"guard_name\":\"forbidden_path\",\"verdict\":true},{\"guard_name\":\"secret_leak\","
    "\"verdict\":false}],\"id\":"
    "\"77a118414393dd121454e59e04ea8f6d1d122e48361d5b495576e1cdeabbfdcb\","
    "\"kernel_key\":\"fd1724385aa0c75b64fb78cd602fa1d991fdebf76b13c58ed702eac835e9f618\","
    "\"metadata\""
    ":{\"receipt_context\":{\"parent_request_id\":\"p\xc3"
    "\xa4"
    "\",\"request_id\":\"req-1\",\"session_id\":\"sess-1\"}"
    "},\"policy_hash\":\"policy-1\",\"receipt_kind\":\"mediated_decision\",\"redaction_mode\":"
    "\"none\",\"sig"
    "nature\":\"55b67e6f1d3eb1175f53363ec5ab5c3c12615c0cdd4b6d29e9fe189067f40dfef45134830cf6a3aa9"
    "294311aeb1b7d207e47df6a986d32ed7b1fd0e0b5efc90a\",\"timestamp\":1710000123,\"tool_name\":"
    "\"t\xe2"
    "\x82"
    "\xac"
    "\""
    ",\"tool_origin\":\"caller_executed\",\"tool_server\":\"srv\",\"trust_level\":\"mediated\"}",
};

/* A kernel receipt stored by `chio bench` at fe5c3f3 (see the header). */
static const char bench_before[] =
    "{\"action\":{\"parameter_hash\":\"1f3c46c119c9395aebad4cd7ada9910ff4527c8ae85e146c982dfb"
    "d0185504fc\",\"parameters\":{\"mode\":\"read\",\"path\":\"/workspace/bench/1796181931-0."
    "txt\"}},\"boundary_class\":\"prevent\",\"capability_id\":\"cap-bench\",\"content_hash\":"
    "\"1f3c46c119c9395aebad4cd7ada9910ff4527c8ae85e146c982dfbd0185504fc\",\"decision\":{\"ver"
    "dict\":\"allow\"},\"id\":\"9f9fa834a0a25863e231768435c82ab059546c69441f56a13ab4f3c26b89f"
    "719\",\"kernel_key\":\"059a3def79ed93d457c2c7cceb43bfe277ebbc7c7ca731899dbf95b2c9279822\""
    ",\"metadata\":{\"receipt_context\":{\"request_id\":\"bench-0\",\"session_id\":\"sess-HzX"
    "s6D5u6sWd-6UqOl_ASg\"}},\"policy_hash\":\"bench-policy\",\"receipt_kind\":\"mediated_dec"
    "ision\",\"redaction_mode\":\"none\",\"signature\":\"e53bc45cbd1c7c37355f22e2afeff6adaee1"
    "10ef618977fdeb6d3bc59ac3883b818efa7c3d459eda6d517c937dc4b122ec72ffbe53aaa4b8827c198295a3"
    "940b\",\"timestamp\":1796181931,\"tool_name\":\"echo\",\"tool_origin\":\"caller_executed"
    "\",\"tool_server\":\"srv-bench\",\"trust_level\":\"mediated\"}";

/* The bench receipt's fields: the echo tool answers with its arguments. */
static void fill_bench(chio__receipt_fields *f)
{
    static const char args[] = "{\"mode\":\"read\",\"path\":\"/workspace/bench/1796181931-0.txt\"}";

    memset(f, 0, sizeof(*f));
    f->timestamp = 1796181931;
    f->capability_id = "cap-bench";
    f->tool_server = "srv-bench";
    f->tool_name = "echo";
    f->params = args;
    f->params_len = strlen(args);
    f->params_canonical = 1;
    f->output = args;
    f->output_len = strlen(args);
    f->verdict = CHIO_VERDICT_ALLOW;
    f->request_id = "bench-0";
    f->session_id = "sess-HzXs6D5u6sWd-6UqOl_ASg";
}

/* @json parses, keeps its bytes and verifies against @seed's key. */
static void expect_verifies(const char *name, const char *json, const char *seed)
{
    chio_keypair *kp;
    chio_receipt *r = NULL;
    chio_receipt_report rep;
    uint8_t pub[32];
    const char *back;
    size_t len;

    cr_assert_eq(chio_keypair_from_seed_hex(seed, 64, &kp, NULL), 0);
    cr_assert_eq(chio_keypair_public_key(kp, pub), 0);
    cr_assert_eq(chio_receipt_parse(json, strlen(json), &r, NULL), 0, "%s: does not parse", name);
    back = chio_receipt_json(r, &len);
    cr_expect(len == strlen(json) && memcmp(back, json, len) == 0, "%s: bytes changed", name);
    cr_assert_eq(chio_receipt_verify(r, pub, 1, &rep), 0, "%s", name);
    cr_expect(rep.ok, "%s: does not verify", name);
    cr_expect(rep.signature_valid && rep.receipt_id_valid && rep.parameter_hash_valid, "%s", name);
    chio_receipt_free(r);
    chio_keypair_free(kp);
}

/* The one-pass writer, signed with @seed, stores exactly @want. */
static void expect_written_as(const char *name, chio__receipt_fields *f, const char *policy,
                              const char *seed, const char *want)
{
    chio_keypair *kp;
    chio__receipt_prep p;
    chio_receipt *r;
    chio_error err;
    const char *msg;
    size_t len;
    uint8_t sig[64];

    cr_assert_eq(chio_keypair_from_seed_hex(seed, 64, &kp, NULL), 0);
    chio_error_init(&err);
    cr_assert_eq(chio__receipt_prepare_fields(f, chio_keypair_public_hex(kp), policy, &p, &err), 0,
                 "%s: %s", name, err.message);
    msg = chio__receipt_prep_message(&p, &len);
    cr_assert_eq(chio_keypair_sign(kp, msg, len, sig), 0);
    chio__receipt_prep_set_signature(&p, sig);
    r = chio__receipt_prep_finish(&p);
    msg = chio_receipt_json(r, &len);
    cr_expect(len == strlen(want) && memcmp(msg, want, len) == 0,
              "%s: the writer's bytes differ from fe5c3f3's:\n%.*s\n%s", name, (int)len, msg, want);
    chio_receipt_free(r);
    chio_keypair_free(kp);
}

TestSuite(rev30_i12);

Test(rev30_i12, receipts_signed_before_the_typed_writer_still_verify)
{
    size_t i;

    cr_assert_eq(sizeof(stored_before) / sizeof(stored_before[0]), receipt_ncases);
    for (i = 0; i < receipt_ncases; i++)
        expect_verifies(receipt_cases[i].name, stored_before[i], OLD_SEED);
    expect_verifies("bench", bench_before, BENCH_SEED);
}

Test(rev30_i12, the_typed_writer_stores_the_bytes_an_older_build_stored)
{
    chio__receipt_fields f;
    size_t i;

    for (i = 0; i < receipt_ncases; i++) {
        receipt_case_fill(&receipt_cases[i], &f);
        expect_written_as(receipt_cases[i].name, &f, "policy-1", OLD_SEED, stored_before[i]);
    }
    fill_bench(&f);
    expect_written_as("bench", &f, "bench-policy", BENCH_SEED, bench_before);
}
