from tidestore import TimeSeriesDB

if __name__ == '__main__':
    # ./metrics 是数据库存储路径
    db = TimeSeriesDB('./metrics')

    # 添加单个数据点
    tags = {'location': 'office'}
    # temperature 是指标, 1627588732 是时间戳, 23.5 是值, tags 是标签
    db.add_data_point('temperature', 1627588732, 23.5, tags)

    # 更新数据点
    db.update_data_point('temperature', 1627588732, 24.0, tags)

    # 查询数据点
    data_point = db.get_data_point('temperature', 1627588732)
    print('Updated data point:', data_point)

    # 添加多个数据点, 批量插入
    data_points = [
        {'metric': 'temperature', 'timestamp': 1627588733, 'value': 23.7, 'tags': {'location': 'office'}},
        {'metric': 'temperature', 'timestamp': 1627588734, 'value': 23.8, 'tags': {'location': 'office'}},
        {'metric': 'humidity', 'timestamp': 1627588732, 'value': 55.0, 'tags': {'location': 'office'}},
        {'metric': 'humidity', 'timestamp': 1627588733, 'value': 54.5, 'tags': {'location': 'office'}}
    ]
    db.add_data_points(data_points)

    # 查询时间范围内的数据点, 带tags查询所有数据
    range_results = db.query_range('temperature', 1627588732, 1627588734, {'location': 'office'})
    print('Range query results:', range_results)
    # 查询时间范围内的数据点, 不带tags查询所有数据
    range_results = db.query_range('humidity', 1627588732, 1627588734)
    print('Range query results:', range_results)

    # 按标签查询数据点
    tag_results = db.query_by_tags('humidity', {'location': 'office'})
    print('Tag query results:', tag_results)

    # 列出所有键
    all_keys = db.list_all_keys()
    print('All keys in the database:', all_keys)

    # 按指标获取数据点
    metrics = db.query_by_metric('temperature')
    print('All data points for metric temperature:', metrics)
