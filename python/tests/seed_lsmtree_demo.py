from tidestore import LSMTree

db_path = './lsm_db'
lsm_tree = LSMTree(db_path)

# 插入数据
for i in range(1000):
    lsm_tree.put('column1', f'key{i}', {'value': i})

# 查询数据
print(lsm_tree.get('column1', 'key2'))  # 输出: {'value': 2}

# 范围查询
print(lsm_tree.query('column1', 'key0', 'key10'))  # 输出前10条记录
