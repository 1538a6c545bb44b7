"""A labelled corpus of script names: copies and purposes, as teams write them.

Each entry is ``(kind, name, siblings, label)``:

- ``kind``: ``recycle`` (a recycle/unrecycle stem) or ``temporary`` (the ``<what>`` of a
  ``ts_YYYY_MM_DD_<what>.py`` in a developer folder);
- ``name``: the stem (recycle) or the ``<what>`` (temporary);
- ``siblings``: the other names in reach of the same evidence (recycle/ and unrecycle/ for a
  recycle name; the same developer folder's ``<what>`` parts for a temporary one);
- ``label``: ``copy`` when the name marks which copy, version, date or state of a script it
  is; ``purpose`` when every word of it says what the script does.

The labels say what a careful reviewer would decide from the name and its neighbours, not what
the lint does: ``tests/test_lint_corpus.py`` measures the lint against them. English and
pinyin-ish snake case (``daochu_dingdan``: export orders; ``jiu``: old; ``beifen``: backup;
``fuben``: copy; ``zuixin``: latest; ``linshi``: temporary; ``ceshi``: test; ``xiugai``:
modified; ``zuizhong``/``zhengshi``: final; ``caogao``: draft; ``shibai``: failed;
``wancheng``: done; ``feiqi``: deprecated; ``xin``: new).
"""

from __future__ import annotations

Entry = tuple[str, str, tuple[str, ...], str]

_BASES = (
    "export_order_data", "clear_cache", "flush_calendar", "sync_stock", "refund_orders",
    "resend_coupons", "backfill_prices", "rebuild_index", "merge_accounts", "notify_members",
    "recount_points", "archive_tickets", "expire_stock_record", "repair_addresses",
    "dedupe_customers", "verify_invoices", "reindex_products", "purge_sessions",
    "daochu_dingdan", "qingli_huancun", "tongbu_kucun", "shuaxin_rili", "jisuan_jifen",
    "xiufu_dingdan_zhuangtai", "fasong_duanxin", "chongzhi_mima", "daoru_yonghu",
    "tongji_xiaoliang", "export_dingdan", "sync_kucun_shuju",
)

# -- copies whose original is there to see -------------------------------------------------

_MARKS_WITH_SIBLING = (
    "6573", "2", "2024_06_10", "20231012", "05_10_error", "06_28", "old", "bak", "copy", "copy2",
    "v2", "v4", "final", "final2", "latest", "done", "failed", "new", "fixed", "fix", "tmp",
    "temp", "test", "draft", "wip", "orig", "backup", "deprecated", "legacy", "updated",
    "jun10", "bak1", "error", "jiu", "xin", "beifen", "fuben", "zuixin", "linshi", "ceshi",
    "xiugai", "zuizhong", "caogao", "shibai",
)

COPIES_WITH_SIBLING: list[Entry] = [
    ("recycle", f"{_BASES[i % len(_BASES)]}_{mark}", (_BASES[i % len(_BASES)],), "copy")
    for i, mark in enumerate(_MARKS_WITH_SIBLING)
]
COPIES_WITH_SIBLING += [
    ("recycle", "copy_of_clear_cache", ("clear_cache",), "copy"),
    ("recycle", "copy_of_daochu_dingdan", ("daochu_dingdan",), "copy"),
    ("recycle", "old_clear_cache", ("clear_cache",), "copy"),
    ("recycle", "old_sync_stock", ("sync_stock",), "copy"),
    ("recycle", "expire_stock_record_20231012", ("expire_stock_record",), "copy"),
    # The original's own last word is ambiguous; the copy's mark is not.
    ("recycle", "clear_temp_old", ("clear_temp",), "copy"),
    ("recycle", "export_draft_v2", ("export_draft",), "copy"),
    ("recycle", "cleanup_backup_2", ("cleanup_backup",), "copy"),
    ("recycle", "resend_error_bak", ("resend_error",), "copy"),
    ("recycle", "export_top_100_old", ("export_top_100",), "copy"),
    ("recycle", "mark_as_done_copy", ("mark_as_done",), "copy"),
    ("recycle", "retry_failed_2", ("retry_failed",), "copy"),
    # An ambiguous word, proved a copy by the script it copies.
    ("recycle", "clear_temp", ("clear",), "copy"),
    ("recycle", "export_draft", ("export",), "copy"),
    ("recycle", "cleanup_backup", ("cleanup",), "copy"),
    ("recycle", "resend_error", ("resend",), "copy"),
    ("recycle", "qingli_linshi", ("qingli",), "copy"),
    ("recycle", "daochu_xin", ("daochu",), "copy"),
    ("recycle", "sync_latest", ("sync",), "copy"),
    ("recycle", "retry_failed", ("retry",), "copy"),
]
# Temporary scripts: the original is an earlier script of the same developer.
COPIES_WITH_SIBLING += [
    ("temporary", f"{base}_{mark}", (base, "recount_points"), "copy")
    for base, mark in (
        ("export_order", "final"), ("export_order", "v2"), ("export_order", "2"),
        ("export_order", "copy"), ("export_order", "new"), ("export_order", "old"),
        ("fix_prices", "fixed"), ("fix_prices", "again2"), ("fix_prices", "latest"),
        ("fix_prices", "done"), ("sync_members", "failed"), ("sync_members", "test"),
        ("sync_members", "tmp"), ("sync_members", "bak"), ("refund_orders", "06_28"),
        ("refund_orders", "draft"), ("refund_orders", "wip"), ("refund_orders", "v3"),
        ("daochu_dingdan", "xin"), ("daochu_dingdan", "jiu"), ("daochu_dingdan", "xiugai"),
        ("qingli_huancun", "zuixin"), ("qingli_huancun", "ceshi"), ("qingli_huancun", "2"),
        ("tongbu_kucun", "fuben"), ("tongbu_kucun", "beifen"), ("tongbu_kucun", "wancheng"),
        ("clear", "temp"), ("export", "draft"), ("resend", "error"), ("cleanup", "backup"),
        ("check_refunds", "jun10"), ("check_refunds", "deprecated"),
        ("check_refunds", "updated"),
    )
]
COPIES_WITH_SIBLING += [
    ("temporary", "copy_of_export_order", ("export_order",), "copy"),
    ("temporary", "old_export_order", ("export_order",), "copy"),
]

# -- copies with no original in sight (deleted, or never committed) --------------------------

_LONE_COPIES = (
    # numbers and dates
    "export_order_data_6573", "export_orders_2024_06_10", "export_orders_20240610",
    "sync_stock_06_28", "refund_orders_2", "refund_orders_3", "merge_accounts_10",
    "rebuild_index_2023_12_01", "flush_calendar_0610", "archive_tickets_1",
    "daochu_dingdan_2", "tongbu_kucun_20240101", "jisuan_jifen_0315",
    # month-name dates
    "rebuild_index_jun10", "archive_tickets_jun_10", "notify_members_dec31",
    "recount_points_10jun", "daochu_dingdan_may5", "clear_cache_sept3",
    # copy words, with or without a number
    "clear_cache_bak", "clear_cache_copy", "clear_cache_copy2", "merge_accounts_bak1",
    "refund_orders_copy_3", "backfill_prices_orig", "dedupe_customers_dup",
    "verify_invoices_cp", "copy_of_export_orders", "copy_of_tongbu_kucun",
    # versions
    "flush_calendar_v2", "flush_calendar_v4", "refund_orders_v10", "sync_stock_v2_1",
    "reindex_products_ver2", "daochu_dingdan_v2", "qingli_huancun_v3",
    # a state word with a number
    "sync_stock_final2", "export_orders_old2", "export_orders_new1", "purge_sessions_test2",
    "repair_addresses_tmp1", "verify_invoices_fix2",
    # a state word after what the script works on
    "export_orders_old", "export_orders_new", "export_orders_latest", "export_orders_final",
    "export_orders_done", "export_orders_failed", "export_orders_deprecated",
    "export_orders_legacy", "export_orders_updated", "export_orders_tmp", "export_orders_temp",
    "export_orders_draft", "export_orders_wip", "export_orders_test", "export_orders_fixed",
    "export_orders_backup", "export_orders_error", "sync_stock_levels_old",
    "recount_member_points_final", "repair_customer_addresses_new",
    "notify_vip_members_latest", "merge_duplicate_accounts_done",
    "backfill_invoice_totals_fixed", "purge_expired_sessions_legacy",
    "daochu_dingdan_jiu", "daochu_dingdan_beifen", "daochu_dingdan_fuben",
    "daochu_dingdan_zuixin", "qingli_huancun_linshi", "tongbu_kucun_ceshi",
    "shuaxin_rili_xiugai", "jisuan_jifen_zuizhong", "jisuan_jifen_caogao",
    "fasong_duanxin_shibai", "chongzhi_mima_wancheng", "daoru_yonghu_feiqi",
    "tongji_xiaoliang_zhengshi", "export_dingdan_bak", "sync_kucun_shuju_old",
    # copy prefixes before a whole purpose
    "old_export_orders", "old_sync_stock", "new_export_orders", "tmp_refund_orders",
    "bak_clear_cache",
)
LONE_COPIES: list[Entry] = [("recycle", name, (), "copy") for name in _LONE_COPIES]
# Copies marked in ways the name alone does not give away: an ordinal word, the author.
LONE_COPIES += [("recycle", name, (), "copy") for name in (
    "export_orders_2nd", "export_orders_second", "export_orders_zhangsan")]
LONE_COPIES += [
    ("temporary", what, ("recount_points",), "copy")
    for what in (
        "export_order_final2", "export_order_copy", "export_order_bak1", "export_order_jun10",
        "export_order_old", "export_order_v2", "export_order_6573", "export_order_05_10",
        "fix_prices_fixed", "fix_prices_latest", "sync_members_failed", "sync_members_done",
        "refund_orders_tmp", "refund_orders_wip", "daochu_dingdan_jiu",
        "daochu_dingdan_fuben", "qingli_huancun_linshi", "tongbu_kucun_ceshi",
        "copy_of_export_order", "old_export_order",
    )
]

# -- purposes --------------------------------------------------------------------------------

_PURPOSES = (
    # the reproductions: the last word is what the script is about
    "migrate_to_v2", "run_ab_test", "clear_temp", "export_draft", "cleanup_backup",
    "resend_error", "export_top_100",
    # plain purposes
    "export_order_data", "clear_cache", "flush_calendar", "sync_stock", "refund_orders",
    "backfill_prices", "rebuild_index", "merge_accounts", "notify_members", "recount_points",
    "archive_tickets", "expire_stock_record", "repair_addresses", "dedupe_customers",
    "verify_invoices", "reindex_products", "purge_sessions", "report_2024_q1_totals",
    "top_10_users", "export_v2x", "fix_order_2fa", "sync_s3_buckets", "export_utf8_csv",
    "hash_sha256_tokens", "convert_md5_to_sha1",
    # state words that are what the script works on
    "retry_failed", "fetch_latest", "mark_as_done", "remove_deprecated", "migrate_legacy",
    "purge_old", "restore_backup", "create_backup", "verify_backup", "publish_draft",
    "resend_failed", "list_updated", "drop_temp", "clean_tmp", "delete_test",
    "import_new", "archive_old", "rollback_to_old", "move_to_backup", "save_as_draft",
    "mark_as_failed", "set_to_final", "switch_to_new", "upgrade_to_v3", "downgrade_from_v2",
    "convert_to_v2", "export_as_v1", "call_api_v2", "sync_api_v1", "fetch_schema_v3",
    # a number that counts or names something
    "split_into_4", "retry_last_3", "delete_older_than_30", "keep_top_5", "export_top_10",
    "fix_issue_1234", "close_ticket_4521", "list_first_50", "sample_every_10",
    "limit_to_500", "page_over_100", "expire_after_7", "charge_per_1000",
    # test as the thing run, not the copy
    "run_load_test", "run_smoke_test", "run_stress_test", "prepare_ab_test",
    "summarise_ab_test", "warm_up_perf_test", "test_payment_gateway", "test_sms_provider",
    # state words elsewhere in the name
    "delete_old_orders", "archive_old_tickets", "sync_new_members", "export_new_orders",
    "import_test_accounts", "cleanup_test_data", "delete_test_users", "drop_temp_tables",
    "clear_tmp_files", "purge_draft_invoices", "send_final_notice", "compute_final_scores",
    "notify_failed_payments", "retry_failed_jobs", "resend_failed_emails",
    "export_error_logs", "count_error_rows", "report_latest_rates", "backup_database",
    "backup_orders", "copy_orders_to_archive", "copy_prices", "old_orders_cleanup",
    "new_customer_welcome", "new_orders", "tmp_file_cleanup", "final_settlement",
    "latest_rates_sync", "draft_invoices_cleanup", "legacy_ids_mapping",
    "deprecated_flags_removal", "test_accounts_reset", "fix_failed_refunds",
    "reopen_done_tickets", "flag_updated_addresses", "notify_new_followers",
    # pinyin purposes
    "daochu_dingdan", "qingli_huancun", "tongbu_kucun", "shuaxin_rili", "jisuan_jifen",
    "xiufu_dingdan_zhuangtai", "fasong_duanxin", "chongzhi_mima", "daoru_yonghu",
    "tongji_xiaoliang", "qingli_linshi", "shanchu_ceshi", "huifu_beifen", "daochu_zuixin",
    "chongfa_shibai", "tongbu_xin_yonghu", "qingli_jiu_shuju", "chongfa_shibai_dingdan",
    "shanchu_ceshi_zhanghu", "daochu_zuixin_jiage", "guidang_jiu_dingdan",
    "jiancha_beifen", "shengcheng_baobiao", "tuisong_tongzhi", "quxiao_dingdan",
    "dongjie_zhanghu", "jiedong_zhanghu", "hebing_kehu", "chaifen_dingdan", "qianyi_shuju",
    "daochu_dingdan_mingxi", "tongbu_kucun_shuju", "shuaxin_huancun_v2x",
    "daochu_qian_100", "tuikuan_shibai_dingdan", "xiugai_dingdan_dizhi",
    "ceshi_zhifu_jiekou", "beifen_shujuku", "fuben_qingli",
)
PURPOSES: list[Entry] = [("recycle", name, (), "purpose") for name in _PURPOSES]
# Events named by what happened to a thing: the state word is the purpose.
PURPOSES += [("recycle", name, (), "purpose") for name in (
    "alert_job_failed", "notify_build_done", "notify_payment_error", "report_sync_error")]
# Purposes beside similar names that are not their originals.
PURPOSES += [
    ("recycle", "export_order_data", ("export_order",), "purpose"),
    ("recycle", "clear_cache_keys", ("clear_cache",), "purpose"),
    ("recycle", "sync_stock_levels", ("sync_stock",), "purpose"),
    ("recycle", "export_top_100", ("export_top_10",), "purpose"),
    ("recycle", "migrate_to_v2", ("migrate_to_v3",), "purpose"),
    ("recycle", "new_orders", ("new_customers",), "purpose"),
    ("recycle", "retry_failed_jobs", ("retry_failed",), "purpose"),
    ("recycle", "daochu_dingdan_mingxi", ("daochu_dingdan",), "purpose"),
    ("recycle", "old_orders_cleanup", ("orders_cleanup",), "purpose"),
    ("recycle", "new_customer_welcome", ("customer_welcome",), "purpose"),
]
PURPOSES += [
    ("temporary", what, ("export_order", "recount_points"), "purpose")
    for what in (
        "export_custom_s", "recount", "old", "new", "final", "new_orders", "top_10_users",
        "export_v2x", "x1", "export_order_items", "export_order_refunds", "fix_prices",
        "retry_failed", "clear_temp", "export_draft", "resend_error", "cleanup_backup",
        "migrate_to_v2", "run_ab_test", "export_top_100", "daochu_dingdan", "qingli_linshi",
        "fetch_latest", "mark_as_done", "purge_old", "delete_older_than_30", "fix_issue_1234",
        "tongbu_xin_yonghu", "old_orders_cleanup", "backup_orders",
    )
]

CORPUS: list[Entry] = COPIES_WITH_SIBLING + LONE_COPIES + PURPOSES
