/* examples/embed.c - embedding libchio in C (docs/embedding.md shows it; make test runs it). */
#include <chio/chio.h>
#include <stdio.h>
#include <string.h>

static int echo(void *user, chio_tool_ctx *ctx, const char *tool, const char *args, size_t len,
                chio_output *out)
{
    (void)user, (void)ctx, (void)tool;
    return chio_output_set_json(out, args, len); /* the tool's result */
}

int main(void)
{
    static const char *const tools[] = {"file_read"};
    const char *agent = "66be7e332c7a453332bd9d0a7f7db055f5c5ef1a06ada66d98b39fb6810c473a";
    const char *scope =
        "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"*\",\"operations\":[\"invoke\"]}]}";
    chio_kernel_config cfg;
    chio_kernel *k;
    chio_capability *cap;
    chio_response resp;
    char sid[CHIO_SESSION_ID_LEN + 1];
    chio_error err;

    chio_kernel_config_init(&cfg);
    chio_keypair_from_seed_hex("0707070707070707070707070707070707070707070707070707070707070707",
                               64, &cfg.keypair, &err); /* in production: from a secret store */
    cfg.policy_hash = "policy-v1";
    cfg.ephemeral_store = 1; /* or cfg.receipt_store_path = "./state/receipts" */
    if (chio_kernel_new(&cfg, &k, &err) != 0)
        return fprintf(stderr, "%s\n", err.message), 1;
    chio_tool_server srv = {.server_id = "srv", .tool_names = tools, .ntools = 1, .invoke = echo};
    chio_kernel_register_tool_server(k, &srv, &err); /* register everything, then serve */
    chio_kernel_issue_capability(k, "cap-1", agent, scope, strlen(scope), 0, 3600, &cap, &err);
    const char *tokens[] = {chio_capability_json(cap, NULL)};
    chio_kernel_open_session(k, agent, tokens, NULL, 1, sid, &err);

    chio_call call = {.session_id = sid,
                      .capability_id = "cap-1",
                      .server_id = "srv",
                      .tool_name = "file_read",
                      .arguments_json = "{\"path\":\"/a\"}",
                      .arguments_len = 13};
    if (chio_kernel_evaluate(k, &call, &resp, &err) != 0) /* an error: no receipt */
        return fprintf(stderr, "%s: %s\n", chio_errno_reason(err.code), err.message), 1;
    printf("%s %s\n%s\n", chio_verdict_name(resp.verdict), chio_code_name(resp.code),
           chio_receipt_json(resp.receipt, NULL)); /* signed, committed before the return */
    chio_response_destroy(&resp);
    chio_capability_free(cap);
    chio_kernel_free(k); /* drains, then wipes the key */
    return 0;
}
